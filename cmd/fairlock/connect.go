package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/internal/etcderr"
)

// checkName is the one place the command checks a lock name. Every
// command calls it before it reads a connection flag or dials, so that a
// bad name fails at once with exit 2, whatever the endpoints.
func checkName(cmd *cobra.Command, name string) error {
	if err := fairlock.ValidateName(name); err != nil {
		return usageError(cmd, libMessage(err))
	}
	return nil
}

// nameArg returns the one NAME of a command that takes nothing else,
// checked by checkName; with root, "/" passes too (ls --prefix /: every
// lock).
func nameArg(cmd *cobra.Command, args []string, root bool) (string, error) {
	if len(args) != 1 {
		return "", usageError(cmd, "want one NAME, "+argCount(len(args)))
	}
	if root && args[0] == "/" {
		return args[0], nil
	}
	return args[0], checkName(cmd, args[0])
}

// dial connects with the connection flags, for the commands that hold
// nothing (ls, rm, yield, observe): bad flags are a usage error (exit 2),
// an etcd that cannot be reached in time exits 1, one that refuses the
// --user exits 77. ctx bounds the dial. The
// caller closes the client, which revokes its session.
func (f *connFlags) dial(ctx context.Context, cmd *cobra.Command) (*fairlock.Client, fairlock.Config, error) {
	cfg, err := f.config(cmd)
	if err != nil {
		return nil, cfg, err
	}
	c, err := connect(ctx, cfg)
	if etcderr.IsRefused(err) { // a wrong password: exit 77, as exec and elect
		return nil, cfg, etcdFailure(err, "connecting to etcd")
	}
	if err != nil {
		return nil, cfg, fail(exitFailure, "%s", libMessage(err))
	}
	return c, cfg, nil
}

// dialOnce is dial for a command that makes a few requests and exits (ls,
// rm, yield): it also returns the context of those requests, bounded by
// twice the dial timeout, so that a cluster that answered the dial and
// then stalls is an error, not a hang. done closes the client and ends the
// context.
func (f *connFlags) dialOnce(cmd *cobra.Command) (c *fairlock.Client, ctx context.Context, done func(), err error) {
	c, cfg, err := f.dial(cmd.Context(), cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 2*cfg.DialTimeout)
	return c, ctx, func() { cancel(); c.Close() }, nil
}

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
