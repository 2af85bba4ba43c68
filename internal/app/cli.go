package app

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/page"
)

// Env is what a command runs with, so tests can run commands in-process.
type Env struct {
	Args   []string // without the program name
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Ready, if set, is told the address `serve` listens on.
	Ready func(addr string)
	// Context ends `serve`; by default SIGINT and SIGTERM do.
	Context context.Context
}

type command struct {
	name, args, help string
	flags            func(fs *flag.FlagSet) func(ctx context.Context, a *App, env *Env) error
	needsApp         bool
	// takesArgs lets positional arguments through to the command, which
	// reads them from its FlagSet.
	takesArgs bool
}

var commands = []command{
	{name: "serve", help: "run migrations, then serve HTTP until SIGINT/SIGTERM (the default command)", needsApp: true,
		flags: func(fs *flag.FlagSet) func(context.Context, *App, *Env) error {
			return func(ctx context.Context, a *App, env *Env) error { return a.Serve(ctx, env.Ready) }
		}},
	{name: "migrate", help: "apply database migrations and exit", needsApp: true,
		flags: func(fs *flag.FlagSet) func(context.Context, *App, *Env) error {
			return func(ctx context.Context, a *App, env *Env) error {
				if err := a.Store.Migrate(ctx); err != nil {
					return err
				}
				fmt.Fprintln(env.Stderr, "migrations applied")
				return nil
			}
		}},
	{name: "workspace create", args: "--name NAME", help: "create a workspace and print its id", needsApp: true,
		flags: func(fs *flag.FlagSet) func(context.Context, *App, *Env) error {
			name := fs.String("name", "", "workspace name (required)")
			return func(ctx context.Context, a *App, env *Env) error {
				if err := a.prepare(ctx); err != nil {
					return err
				}
				w, err := a.Accounts.CreateWorkspace(ctx, *name)
				if err != nil {
					return err
				}
				fmt.Fprintln(env.Stdout, w.ID)
				return nil
			}
		}},
	{name: "apikey create", args: "--name NAME [--workspace ID]", help: "create an API key and print it (only its hash is stored)", needsApp: true,
		flags: func(fs *flag.FlagSet) func(context.Context, *App, *Env) error {
			name := fs.String("name", "", "key name (required)")
			ws := fs.String("workspace", "", "workspace id (default: the first workspace)")
			return func(ctx context.Context, a *App, env *Env) error {
				if err := a.prepare(ctx); err != nil {
					return err
				}
				id, err := a.workspaceOrDefault(ctx, *ws)
				if err != nil {
					return err
				}
				secret, _, err := a.Accounts.CreateAPIKey(ctx, id, *name)
				if err != nil {
					return err
				}
				fmt.Fprintln(env.Stdout, secret)
				// The key works only on servers using this database: a
				// key made in ./parley.db is no use to a server on
				// another file or on PostgreSQL.
				fmt.Fprintf(env.Stderr, "created API key %q for workspace %s in the %s\n", *name, id, databaseName(a.Config.DatabaseURL))
				return nil
			}
		}},
	{name: "apikey list", args: "[--workspace ID]", help: "list a workspace's API keys: id, name, prefix, created, last used (never the secret)", needsApp: true,
		flags: func(fs *flag.FlagSet) func(context.Context, *App, *Env) error {
			ws := fs.String("workspace", "", "workspace id (default: the first workspace)")
			return func(ctx context.Context, a *App, env *Env) error {
				if err := a.prepare(ctx); err != nil {
					return err
				}
				id, err := a.workspaceOrDefault(ctx, *ws)
				if err != nil {
					return err
				}
				if _, err := a.Accounts.GetWorkspace(ctx, id); err != nil {
					return err
				}
				tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tCREATED\tLAST USED")
				req := page.Request{Limit: page.MaxLimit}
				for {
					res, err := a.Accounts.ListAPIKeys(ctx, id, req)
					if err != nil {
						return err
					}
					for _, k := range res.Items {
						used := "never"
						if k.LastUsedAt != nil {
							used = k.LastUsedAt.UTC().Format(time.RFC3339)
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, k.CreatedAt.UTC().Format(time.RFC3339), used)
					}
					if res.Next == nil {
						break
					}
					req.Cursor = res.Next
				}
				return tw.Flush()
			}
		}},
	{name: "apikey revoke", args: "[--workspace ID] KEY_ID", help: "revoke an API key: it is refused from its next request on", needsApp: true, takesArgs: true,
		flags: func(fs *flag.FlagSet) func(context.Context, *App, *Env) error {
			ws := fs.String("workspace", "", "workspace id (default: the first workspace)")
			return func(ctx context.Context, a *App, env *Env) error {
				// The id may come before flags too (revoke key_… --workspace ws_…).
				keyID := fs.Arg(0)
				if keyID != "" {
					if err := fs.Parse(fs.Args()[1:]); err != nil {
						return err
					}
				}
				if keyID == "" || strings.HasPrefix(keyID, "-") {
					return errors.New("give the key id: parley apikey revoke [--workspace ID] KEY_ID (see parley apikey list)")
				}
				if fs.NArg() > 0 {
					return fmt.Errorf("unexpected argument %q", fs.Arg(0))
				}
				if err := a.prepare(ctx); err != nil {
					return err
				}
				id, err := a.workspaceOrDefault(ctx, *ws)
				if err != nil {
					return err
				}
				if err := a.Accounts.RevokeAPIKey(ctx, id, keyID); err != nil {
					return fmt.Errorf("%w in workspace %s", err, id)
				}
				fmt.Fprintln(env.Stderr, "revoked", keyID)
				return nil
			}
		}},
	{name: "user create", args: "--email E --password-stdin [--workspace ID] [--role owner|admin|agent]", help: "add a dashboard user, reading the password from stdin", needsApp: true,
		flags: func(fs *flag.FlagSet) func(context.Context, *App, *Env) error {
			email := fs.String("email", "", "email address (required)")
			stdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin (required)")
			ws := fs.String("workspace", "", "workspace id (default: the first workspace)")
			role := fs.String("role", "agent", "owner, admin or agent")
			return func(ctx context.Context, a *App, env *Env) error {
				if !*stdin {
					return errors.New("--password-stdin is required: pass the password on stdin, never as an argument")
				}
				line, err := bufio.NewReader(env.Stdin).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("read password: %w", err)
				}
				password := strings.TrimRight(line, "\r\n")
				if err := a.prepare(ctx); err != nil {
					return err
				}
				id, err := a.workspaceOrDefault(ctx, *ws)
				if err != nil {
					return err
				}
				u, err := a.Accounts.CreateUser(ctx, id, *email, password, *role)
				if err != nil {
					return err
				}
				fmt.Fprintln(env.Stdout, u.ID)
				return nil
			}
		}},
	{name: "version", help: "print the version",
		flags: func(fs *flag.FlagSet) func(context.Context, *App, *Env) error {
			return func(ctx context.Context, a *App, env *Env) error {
				fmt.Fprintln(env.Stdout, "parley", Version)
				return nil
			}
		}},
}

// prepare migrates and bootstraps before an admin command, so commands
// work on a brand-new database too.
func (a *App) prepare(ctx context.Context) error {
	if err := a.Store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return a.Bootstrap(ctx)
}

// databaseName says which database a URL names, for people to check:
// the driver and the file's absolute path or the server and database,
// never the user or password.
func databaseName(dbURL string) string {
	if !strings.HasPrefix(dbURL, "postgres://") && !strings.HasPrefix(dbURL, "postgresql://") {
		path := strings.TrimPrefix(dbURL, "sqlite:")
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		return "sqlite database " + path
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "postgres database (the URL does not parse)"
	}
	host := u.Host
	if host == "" {
		host = u.Query().Get("host") // a Unix socket directory
	}
	if host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("postgres database %q on %s", strings.TrimPrefix(u.Path, "/"), host)
}

func (a *App) workspaceOrDefault(ctx context.Context, id string) (string, error) {
	if id != "" {
		return id, nil
	}
	return a.Accounts.DefaultWorkspace(ctx)
}

// Main runs the command line and returns the exit code.
func Main(env *Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	args := env.Args
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		usage(env.Stdout)
		return 0
	}
	cmd, rest := findCommand(args)
	if cmd == nil {
		fmt.Fprintf(env.Stderr, "parley: unknown command %q\n\n", strings.Join(args, " "))
		usage(env.Stderr)
		return 2
	}
	fs := flag.NewFlagSet("parley "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	load := config.Register(fs, env.Getenv)
	run := cmd.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: parley %s %s\n  %s\n\nflags:\n", cmd.name, cmd.args, cmd.help)
		fs.PrintDefaults()
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 && !cmd.takesArgs {
		fmt.Fprintf(env.Stderr, "parley %s: unexpected argument %q\n", cmd.name, fs.Arg(0))
		return 2
	}
	cfg, err := load()
	if err == nil {
		err = CheckConfig(cfg)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "parley: configuration: %v\n", err)
		return 2
	}
	log := NewLogger(env.Stderr, cfg.LogFormat)
	slog.SetDefault(log)
	ctx := env.Context
	if ctx == nil {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	var a *App
	if cmd.needsApp {
		a, err = New(ctx, cfg, log)
		if err != nil {
			fmt.Fprintf(env.Stderr, "parley: %v\n", err)
			return 1
		}
		defer a.Close()
	}
	if err := run(ctx, a, env); err != nil {
		fmt.Fprintf(env.Stderr, "parley %s: %v\n", cmd.name, err)
		return 1
	}
	return 0
}

func findCommand(args []string) (*command, []string) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return &commands[0], args
	}
	for i := range commands {
		words := strings.Fields(commands[i].name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == commands[i].name {
			return &commands[i], args[len(words):]
		}
	}
	return nil, nil
}

func usage(w io.Writer) {
	fmt.Fprint(w, "parley: a self-hosted conversation platform for AI assistants\n\nusage: parley [command] [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-18s %s\n      %s\n", c.name, c.args, c.help)
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(w, "        --%-16s %s%s\n", f.Name, f.Usage, def)
		})
	}
	fmt.Fprint(w, "\nEvery command also takes these settings, as a flag or an environment variable (a flag wins):\n")
	fmt.Fprint(w, config.Usage())
	fmt.Fprint(w, "\nRun `parley COMMAND -h` for one command's usage.\n")
}

// NewLogger returns the process logger in the configured format.
func NewLogger(w io.Writer, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
