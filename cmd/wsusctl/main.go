// Command wsusctl administers a wsus server through its admin REST API:
// approving and declining updates, creating target groups, assigning
// computers to them, listing approvals, updates, target groups and
// computers, and synchronization with an upstream server (its settings,
// the products and classifications it offers, starting a run and the
// history of runs).
//
//	wsusctl [--server URL] [--token T] [--json] <command> [arguments]
//
// The server defaults to $WSUS_SERVER or http://127.0.0.1:8530, the token to
// $WSUS_ADMIN_TOKEN (prefer the variable: a --token shows in the process
// list). Output is a table, or with --json the server's JSON answer as is.
// An error answer of the server prints "wsusctl: <reason> (<code>, HTTP
// <status>)" and exits 1; a usage error exits 2. `wsusctl --help`,
// `wsusctl help [command]` and `wsusctl <command> --help` (or -h) print
// the usage (of that command) and exit 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

const usage = `usage: wsusctl [--server URL] [--token T] [--json] <command> [arguments]

commands:
  approve UPDATE-ID... [--group G] [--action Install|OptionalInstall|Uninstall|NotApproved]
          [--deadline RFC3339 | --no-deadline] [--undecline]
                     approve updates for a target group (default "All Computers", Install); without
                     --deadline a re-approval keeps its deadline; a declined update needs --undecline
  approve|unapprove|decline|undecline [--kb KB] [--title TEXT] [--type Software|Driver] ...
                     the same for every update the filter selects (one line per update; exit 1 if any failed)
  unapprove UPDATE-ID... [--group G]
                     remove the approvals of updates for a target group
  approvals          list the approvals, IN FORCE "no (declined)" for those of declined updates
  decline UPDATE-ID...
                     decline updates: no client is offered them; their approvals are kept
  undecline UPDATE-ID...
                     lift a decline
  computers [--q TEXT] [--group G] [--needing] [--failing] [--not-reported-days N]
            [--sort name|last_status|last_sync|needed|failed] [--desc|--asc] [--limit N] [--offset N] [--csv]
                     list the computers with their needed, installed and failed update counts
  computer COMPUTER  show one computer (client ID, DNS name or host name) and its update states
  computer-updates COMPUTER [--state installed|needed|failed|not_applicable]... [--sort title|kb|state|changed]
                   [--desc|--asc] [--limit N] [--offset N] [--csv]
                     one computer's update states with titles, KB and error codes
  delete-computer COMPUTER
                     delete a computer (client ID, DNS name or host name) and what it reported
  cleanup-computers --not-contacted-days N [--dry-run]
                     delete the computers not contacted for N days (--dry-run: only list them)
  assign COMPUTER-ID GROUP...
                     put a computer in these target groups (names or IDs), replacing its groups
  assign COMPUTER-ID --clear
                     take a computer out of every target group
  updates [--q|--search TEXT] [--kb KB] [--type T]... [--product P]... [--classification C]...
          [--severity Critical|Important|Moderate|Low|none]... [--approved[=false]] [--declined[=false]]
          [--superseded[=false]] [--group G] [--released-after D] [--released-before D] [--min-needed N]
          [--min-failed N] [--sort released|title|kb|severity|classification|needed|failed|installed]
          [--desc|--asc] [--limit N] [--offset N] [--csv]
                     list the updates (one row per update; default Software and Driver, newest first)
                     with their classification, severity, computer counts and approvals
  update KB|UPDATE-ID
                     show one update: products, severity, CVEs, computer counts, bundle members, approvals
  update-computers KB|UPDATE-ID [--state installed|needed|failed|not_applicable|no_status]... [--group G]
                   [--sort name|state|changed|last_status] [--desc|--asc] [--limit N] [--offset N] [--csv]
                     which computers are in which state for an update, with error codes of failures
  compliance [--not-reported-days N]
                     the server's compliance summary (computers needing updates, failing, not reporting)
  compliance groups [--not-reported-days N] [--csv]
                     the compliance of each target group
  groups             list the target groups
  create-group NAME [--parent P]
                     create a target group (parent name or ID, default "All Computers")
  rename-group GROUP NEW-NAME
                     rename a target group (not a built-in one)
  delete-group GROUP delete a target group with its approvals (not a built-in one, nor one with child groups)
  products           list the products (under their product families) the upstream offers; [x] = synchronized
  classifications    list the update classifications the upstream offers; [x] = synchronized
  sync status        the synchronization settings, the running run's progress and the last run
  sync start [--wait] [--poll D]
                     start a synchronization now; --wait prints its progress until it ends (exit 1 if it failed)
  sync history [--limit N] [--before-id ID]
                     list the synchronization runs, newest first (default 20, at most 1000); --before-id ID
                     lists the runs older than run ID (the last ID of the previous page)
  sync settings [--upstream URL] [--product P]... [--classification C]... [--language L]...
                [--content approved|on-demand|never] [--replica[=false]] [--syncs-per-day N] [--first-sync HH:MM]
                     change the given settings (P, C: GUID, title or all; L: short name or all;
                     --product none clears the list); without flags, show them
  tokens create NAME --role admin|approver|viewer
                     create an API token; its secret is printed this once
  tokens list        list the API tokens (never their secrets)
  tokens revoke ID   revoke an API token (refused everywhere within seconds)
  audit [--actor A] [--action X] [--target T] [--since RFC3339] [--until RFC3339] [--before-id ID] [--limit N] [--csv]
                     the audit log of changes made through the API, newest first (default 100, at most 1000);
                     --before-id ID lists the entries older than entry ID (the last ID of the previous page)
  rules list         list the automatic approval rules with their rings
  rules create NAME [--product P]... [--classification C]... [--group G]... [--action Install|OptionalInstall]
               [--deadline-days N] [--disabled]
                     approve the updates of these products and classifications (any when none) for the groups
  rules delete RULE  delete a rule (name or ID) with its rings
  rules run [--dry-run]
                     run the rules, rings and automatic declines now and say what was done and why the rest waits
  rings list         list the rings: rule, position, group, delay, gate, running or why paused
  rings create NAME --rule R --group G --position N [--delay-days N] [--after-previous]
               [--min-installed-percent P] [--min-installs M] [--max-failed-percent F]
                     approve the rule's updates for G N days after release (or after the previous ring
                     approved them), once the previous ring passed the gate
  rings delete RING  delete a ring
  rings resume RING  resume a ring that paused itself, accepting the failures that paused it
  rings status RING  what the ring approves at the next run and why it waits for the rest
  autodecline show   the automatic decline settings
  autodecline set [--superseded[=false]] [--grace-days N] [--architecture A]... [--language L]... [--edition E]...
                     change the given settings (none clears a list)
  server             the answering replica's version, commit and Go version, the server ID, catalog and content stores

flags:
  --server URL  server base URL (env WSUS_SERVER, default http://127.0.0.1:8530)
  --token T     admin token (env WSUS_ADMIN_TOKEN)
  --json        print the server's JSON answer as is
`

// defaultServer is the server URL when neither --server nor WSUS_SERVER is set.
const defaultServer = "http://127.0.0.1:8530"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the global flags.
type options struct {
	server string
	token  string
	json   bool
}

// run runs wsusctl with args (without the program name) and returns the exit
// status: 0 on success, 1 when the server or the network failed, 2 on a
// usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	server := os.Getenv("WSUS_SERVER")
	if server == "" {
		server = defaultServer
	}
	opts := options{server: server, token: os.Getenv("WSUS_ADMIN_TOKEN")}
	fs := flag.NewFlagSet("wsusctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.server, "server", opts.server, "")
	fs.StringVar(&opts.token, "token", opts.token, "")
	fs.BoolVar(&opts.json, "json", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		return usageError(stderr, err.Error())
	}
	if fs.NArg() == 0 {
		return usageError(stderr, "no command")
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	if name == "help" {
		if len(rest) == 0 {
			fmt.Fprint(stdout, usage)
			return 0
		}
		name, rest = rest[0], append(rest[1:], "--help")
	}
	cmd, ok := lookup(name)
	if !ok {
		return usageError(stderr, fmt.Sprintf("unknown command %q", name))
	}
	// Help of the command (help.go), before it parses anything.
	if wantsHelp(rest) {
		if !commandHelp(stdout, name, rest) {
			fmt.Fprint(stdout, usage)
		}
		return 0
	}
	// Validate the command line before demanding a token, so that a usage
	// mistake is reported as such.
	call, err := cmd(&opts, rest)
	if err != nil {
		return usageError(stderr, err.Error())
	}
	if opts.token == "" {
		return usageError(stderr, "no admin token: set WSUS_ADMIN_TOKEN or pass --token")
	}
	c, err := newClient(opts.server, opts.token)
	if err != nil {
		return usageError(stderr, err.Error())
	}
	if err := call(ctx, c, stdout); err != nil {
		fmt.Fprintf(stderr, "wsusctl: %v\n", err)
		return 1
	}
	return 0
}

// usageError prints msg and a hint and returns the usage exit status.
func usageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "wsusctl: %s\n%s", msg, usage)
	return 2
}

// parseArgs parses a command's flags, which may come before, between or
// after its positional arguments, and returns the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%s: %w", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
