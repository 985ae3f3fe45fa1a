//go:build race

package cmd_test

func init() { raceFlags = []string{"-race"} }
