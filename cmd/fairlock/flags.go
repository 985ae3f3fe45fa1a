package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/queue"
)

// Where endpoints come from when --endpoints is not given, in order.
const (
	envEndpoints        = "FAIRLOCK_ENDPOINTS"
	envEtcdctlEndpoints = "ETCDCTL_ENDPOINTS"
	defaultEndpoint     = "127.0.0.1:2379"
)

// Defaults of the flags shared by exec and elect.
const (
	defaultTTL         = fairlock.DefaultTTL
	defaultDialTimeout = fairlock.DefaultDialTimeout
)

// connFlags are the connection flags, spelled as etcdctl spells them.
type connFlags struct {
	endpoints   string
	cacert      string
	cert        string
	key         string
	user        string
	dialTimeout time.Duration
}

func (f *connFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.endpoints, "endpoints", "",
		"comma-separated etcd endpoints (default $"+envEndpoints+", else $"+envEtcdctlEndpoints+", else "+defaultEndpoint+")")
	fs.StringVar(&f.cacert, "cacert", "", "verify the etcd servers with this CA bundle (PEM file)")
	fs.StringVar(&f.cert, "cert", "", "client certificate (PEM file), with --key")
	fs.StringVar(&f.key, "key", "", "client certificate's private key (PEM file), with --cert")
	fs.StringVar(&f.user, "user", "", "etcd user, as name:password")
	fs.DurationVar(&f.dialTimeout, "dial-timeout", defaultDialTimeout, "give up reaching etcd after this long")
}

// config turns the flags into a connection config; the identity and TTL
// are the caller's. Its errors are usage errors.
func (f *connFlags) config(cmd *cobra.Command) (fairlock.Config, error) {
	var cfg fairlock.Config
	eps, err := selectEndpoints(f.endpoints, cmd.Flags().Changed("endpoints"), os.Getenv)
	if err != nil {
		return cfg, usageError(cmd, err.Error())
	}
	if f.dialTimeout <= 0 {
		return cfg, usageError(cmd, "--dial-timeout must be positive")
	}
	user, pass, err := parseUser(f.user)
	if err != nil {
		return cfg, usageError(cmd, err.Error())
	}
	tc, err := tlsConfig(f.cacert, f.cert, f.key)
	if err != nil {
		return cfg, usageError(cmd, err.Error())
	}
	cfg.Endpoints, cfg.DialTimeout, cfg.TLS = eps, f.dialTimeout, tc
	cfg.Username, cfg.Password = user, pass
	return cfg, nil
}

// selectEndpoints picks the endpoints: --endpoints when given, else the
// first of $FAIRLOCK_ENDPOINTS and $ETCDCTL_ENDPOINTS that names any, else
// 127.0.0.1:2379. A given --endpoints that names none is an error.
func selectEndpoints(flag string, flagSet bool, getenv func(string) string) ([]string, error) {
	if flagSet {
		eps := splitList(flag)
		if len(eps) == 0 {
			return nil, errors.New("--endpoints names no endpoint")
		}
		return eps, nil
	}
	for _, env := range []string{envEndpoints, envEtcdctlEndpoints} {
		if eps := splitList(getenv(env)); len(eps) > 0 {
			return eps, nil
		}
	}
	return []string{defaultEndpoint}, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parseUser splits --user's name:password. No password prompt: fairlock
// runs from cron and scripts, where nobody could answer one.
func parseUser(s string) (name, password string, err error) {
	if s == "" {
		return "", "", nil
	}
	name, password, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", errors.New("--user must be name:password")
	}
	if name == "" {
		return "", "", errors.New("--user has an empty name (want name:password)")
	}
	return name, password, nil
}

// tlsConfig builds the TLS config from the PEM files named by --cacert,
// --cert and --key; nil when none is named (a plain connection).
func tlsConfig(cacert, cert, key string) (*tls.Config, error) {
	if cacert == "" && cert == "" && key == "" {
		return nil, nil
	}
	if (cert == "") != (key == "") {
		return nil, errors.New("--cert and --key go together")
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cacert != "" {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate in it", cacert)
		}
		tc.RootCAs = pool
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// holdFlags are the flags of the commands that hold something while a
// command runs (exec, elect).
type holdFlags struct {
	ttl     time.Duration
	grace   time.Duration
	quiet   bool
	verbose bool
	metrics metricsFlag
}

// register adds the flags; with quiet, --quiet too (exec's: for its --try
// and --timeout).
func (f *holdFlags) register(fs *pflag.FlagSet, quiet bool) {
	fs.DurationVar(&f.ttl, "ttl", defaultTTL,
		"session lease TTL: how long the hold outlives a fairlock that stopped answering (whole seconds; 0 means the default)")
	fs.DurationVar(&f.grace, "grace", 0,
		"how long COMMAND's process group has between SIGTERM and SIGKILL, at most half the TTL (default a third of the TTL)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "report progress on stderr: waiting, granted (with the token), stops, released")
	if quiet {
		fs.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing when --try finds NAME busy or --timeout ends the wait (the exit code tells)")
	}
	f.metrics.register(fs)
}

// config checks the hold flags and returns the connection's Config for a
// hold that runs argv: the session TTL, the identity stored in the entry
// (host/pid and the command). COMMAND not found is known now, so it fails
// here rather than after a wait in line for nothing. It sets f.grace to
// the grace period to use.
func (f *holdFlags) config(cmd *cobra.Command, conn *connFlags, argv []string) (fairlock.Config, error) {
	grace, err := holdGrace(f.ttl, f.grace, cmd.Flags().Changed("grace"))
	if err != nil {
		return fairlock.Config{}, usageError(cmd, err.Error())
	}
	if f.quiet && f.verbose {
		return fairlock.Config{}, usageError(cmd, "--quiet and --verbose exclude each other")
	}
	f.grace = grace
	if f.ttl == 0 {
		f.ttl = defaultTTL // as in fairlock.Config
	}
	cfg, err := conn.config(cmd)
	if err != nil {
		return fairlock.Config{}, err
	}
	cfg.TTL = f.ttl
	cfg.Identity = identity(queue.DefaultIdentity(), argv)
	if _, err := exec.LookPath(argv[0]); err != nil {
		return fairlock.Config{}, fail(startExitCode(err), "%s", strings.TrimPrefix(err.Error(), "exec: "))
	}
	return cfg, nil
}

// holdRun is what a run of exec or elect knows before it connects.
type holdRun struct {
	cfg   fairlock.Config
	name  string
	argv  []string
	grace time.Duration // the grace period to use (see holdGrace)
	hf    *holdFlags
}

// setup checks the hold flags (see config) and starts serving the metrics
// of --metrics-addr, hooked to the run's Config: a run of exec or elect,
// up to connecting. The caller closes the metrics (nil when none).
func (f *holdFlags) setup(cmd *cobra.Command, conn *connFlags, name string, argv []string) (holdRun, *metrics, error) {
	cfg, err := f.config(cmd, conn, argv)
	if err != nil {
		return holdRun{}, nil, err
	}
	m, err := f.metrics.start(cmd.Context(), cmd)
	if err != nil {
		return holdRun{}, nil, err
	}
	m.hook(&cfg)
	return holdRun{cfg: cfg, name: name, argv: argv, grace: f.grace, hf: f}, m, nil
}

// progress reports a step on stderr under --verbose.
func (f *holdFlags) progress(format string, args ...any) {
	if f.verbose {
		fmt.Fprintf(os.Stderr, "fairlock: "+format+"\n", args...)
	}
}

// progressFunc is progress, or nil without --verbose.
func (f *holdFlags) progressFunc() func(string, ...any) {
	if !f.verbose {
		return nil
	}
	return f.progress
}

// holdGrace checks --ttl and --grace and returns the grace period: given,
// or a third of the TTL (to 100 ms). The command's group gets SIGTERM once
// no renewal has moved the hold's end past now+grace; renewals go every
// third of the TTL, so normally the end is about two thirds of the TTL
// away at worst; a grace above half the TTL would stop commands on
// ordinary keep-alive timing, and is refused.
func holdGrace(ttl, grace time.Duration, graceSet bool) (time.Duration, error) {
	if ttl == 0 {
		ttl = defaultTTL // as in fairlock.Config
	}
	if ttl < time.Second || ttl%time.Second != 0 {
		return 0, errors.New("--ttl must be a whole number of seconds, at least 1s (etcd leases count seconds), or 0 for the default")
	}
	if !graceSet {
		return (ttl / 3).Truncate(100 * time.Millisecond), nil
	}
	if grace < 0 {
		return 0, errors.New("--grace must not be negative")
	}
	if grace > ttl/2 {
		return 0, fmt.Errorf("--grace %v does not fit in --ttl %v: at most %v (half the TTL), since COMMAND must be stopped before etcd can expire the lease; raise --ttl or lower --grace",
			grace, ttl, ttl/2)
	}
	return grace, nil
}

// execMode is how exec takes the lock.
type execMode struct {
	shared bool
	limit  int // > 0: a permit of a semaphore with this limit
	weight int // the permit's weight: 1 unless --weight
	// tenant and share: the hold is one of tenant's (--tenant, --share);
	// "" for none.
	tenant string
	share  int
}

func (m execMode) String() string {
	var s string
	switch {
	case m.shared:
		s = "shared"
	case m.limit > 0 && m.weight > 1:
		s = fmt.Sprintf("permit(%d, weight %d)", m.limit, m.weight)
	case m.limit > 0:
		s = fmt.Sprintf("permit(%d)", m.limit)
	default:
		s = "exclusive"
	}
	if m.tenant != "" {
		s += fmt.Sprintf(" of tenant %q, share %d", m.tenant, m.share)
	}
	return s
}

// options are the queue options of the mode: its tenant's.
func (m execMode) options() []queue.Option {
	if m.tenant == "" {
		return nil
	}
	return []queue.Option{queue.WithTenant(m.tenant, m.share)}
}

// execFlags are exec's own flags, and whether each was given.
type execFlags struct {
	shared              bool
	limit, weight       int
	limitSet, weightSet bool
	tenant              string
	share               int
	tenantSet, shareSet bool
	timeout             time.Duration
}

// validate checks exec's own flags and returns the mode they ask for.
func (f execFlags) validate() (execMode, error) {
	switch {
	case f.shared && f.limitSet:
		return execMode{}, errors.New("--shared and --limit exclude each other")
	case f.limitSet && f.limit < 1:
		return execMode{}, errors.New("--limit must be at least 1")
	case f.weightSet && !f.limitSet:
		return execMode{}, errors.New("--weight goes with --limit: it is how much of the limit the permit takes")
	case f.weightSet && (f.weight < 1 || f.weight > f.limit):
		return execMode{}, fmt.Errorf("--weight must be from 1 to the limit (%d)", f.limit)
	case f.timeout < 0:
		return execMode{}, errors.New("--timeout must not be negative")
	case f.shareSet && !f.tenantSet:
		return execMode{}, errors.New("--share goes with --tenant: it is the tenant's share of the lock")
	case f.tenantSet && f.shared:
		return execMode{}, errors.New("--tenant goes with exclusive holds and --limit, not --shared: a read-write lock serves no tenants")
	case f.shareSet && f.share < 1:
		return execMode{}, errors.New("--share must be at least 1")
	}
	if f.tenantSet {
		if err := keys.ValidateTenant(f.tenant); err != nil {
			return execMode{}, fmt.Errorf("--tenant: %s", libMessage(err))
		}
	}
	m := execMode{shared: f.shared, weight: 1}
	if f.limitSet {
		m.limit = f.limit
	}
	if f.weightSet {
		m.weight = f.weight
	}
	if f.tenantSet {
		m.tenant, m.share = f.tenant, 1
		if f.shareSet {
			m.share = f.share
		}
	}
	return m, nil
}

// commandArgs returns the NAME, checked by checkName, and the COMMAND of
// "NAME -- COMMAND [ARG...]" (exec, elect).
func commandArgs(cmd *cobra.Command, args []string) (name string, argv []string, err error) {
	name, argv, err = splitCommand(args, cmd.ArgsLenAtDash())
	if err != nil {
		return "", nil, usageError(cmd, err.Error())
	}
	return name, argv, checkName(cmd, name)
}

// splitCommand splits "NAME -- COMMAND [ARG...]" given the positional args
// and the number of them before "--" (-1: no "--").
func splitCommand(args []string, atDash int) (name string, argv []string, err error) {
	switch {
	case len(args) == 0:
		return "", nil, errors.New("missing NAME and COMMAND (NAME -- COMMAND [ARG...])")
	case atDash < 0:
		return "", nil, errors.New(`put "--" between NAME and COMMAND (NAME -- COMMAND [ARG...])`)
	case atDash == 0:
		return "", nil, errors.New(`missing NAME before "--"`)
	case atDash > 1:
		return "", nil, fmt.Errorf(`one NAME before "--", not %d: %q`, atDash, args[:atDash])
	case len(args) == 1:
		return "", nil, errors.New(`missing COMMAND after "--"`)
	}
	return args[0], args[1:], nil
}
