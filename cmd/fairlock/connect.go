package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/fairlock/fairlock"
)

// connect opens a client and its session with fairlock.Connect: bounded by
// the dial timeout and ctx, never a hang. Its error names what to check.
func connect(ctx context.Context, cfg fairlock.Config) (*fairlock.Client, error) {
	c, err := fairlock.Connect(ctx, cfg)
	switch {
	case err == nil:
		return c, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, fairlock.ErrUnreachable):
		return nil, fmt.Errorf("%w (check --endpoints or $%s, and --dial-timeout)", err, envEndpoints)
	}
	return nil, err
}
