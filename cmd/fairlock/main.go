package main

import (
	"context"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == guardArg {
		os.Exit(runGuard(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == trampolineArg {
		os.Exit(runTrampoline(os.Args[2:]))
	}
	os.Exit(run(context.Background(), os.Args[1:]))
}
