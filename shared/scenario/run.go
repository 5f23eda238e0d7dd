package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/awsconf"
	"github.com/wagewatch/wagewatch/shared/handler"
	"github.com/wagewatch/wagewatch/shared/notify"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/stack"
	"github.com/wagewatch/wagewatch/shared/store"
)

// DefaultWebhookSecret signs webhooks locally when WW_WEBHOOK_SECRET is not
// set; the local receiver checks with the same.
const DefaultWebhookSecret = "wagewatch-local-webhook-secret"

// Options configure a run.
type Options struct {
	// Root is the repository root (template.yaml, .local/).
	Root string
	// Keep loads into what the previous run left instead of a fresh
	// namespace.
	Keep bool
	// AsOf, when set, replaces the scenario's moment of evaluation.
	AsOf time.Time
	// Log receives the handlers' logs (JSON); nil discards them.
	Log *slog.Logger
	// Report receives the summary of what was accepted, rejected and
	// ignored as duplicate, and what the local receiver got.
	Report io.Writer
	// Drain bounds each wait for the queues to drain; zero means one
	// visibility timeout of the slowest queue and a minute more, since a
	// message whose receive was lost in transit comes back only then.
	Drain time.Duration
	// State is where the namespace of the last run is kept, for Keep
	// (default .local/resources.json). A run without Keep deletes the
	// namespace recorded there before it provisions its own.
	State string
	// Observe, when set, sees every SQS event before its function handles
	// it (tests read the messages that flow between the functions).
	Observe func(function string, ev events.SQSEvent)
	// ReceiverAddr is where the in-process webhook receiver listens when
	// nothing listens there yet ("" for 127.0.0.1:9099).
	ReceiverAddr string
	// Capacity, when set, is told the write capacity units of every write
	// any function makes (store.Store.Capacity), for the benchmarks; it is
	// called from many goroutines at once.
	Capacity func(table string, units float64)
}

// Result is what a run found.
type Result struct {
	Namespace string
	Alerts    []alert.Alert
	Files     []store.Manifest
	// Load is how long the uploads took until every queue had drained;
	// Scan how long the scan, evaluations and notifications took.
	Load, Scan time.Duration
}

// Lines returns the open alerts as alert lines.
func (r *Result) Lines() ([]Line, error) {
	var out []Line
	for _, a := range r.Alerts {
		ls, err := ReadLines(a.Line())
		if err != nil {
			return nil, fmt.Errorf("alert %s: %w", a.ID, err)
		}
		out = append(out, ls...)
	}
	return out, nil
}

// Run loads the scenario through the product's real ingestion path — every
// file uploaded to the feed bucket, each through its queue and consumer —
// runs the scan as of the scenario's moment, waits until every queue has
// drained and returns the open alerts.
func Run(ctx context.Context, sc *Scenario, opt Options) (*Result, error) {
	if opt.Report == nil {
		opt.Report = io.Discard
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	asOf := sc.AsOf
	if !opt.AsOf.IsZero() {
		asOf = opt.AsOf
	}
	a, err := start(ctx, sc, opt)
	if err != nil {
		return nil, err
	}
	if opt.Drain == 0 {
		opt.Drain = drainBound(a.Res.Template())
	}
	defer a.Runner.Stop()
	stopReceiver, err := startReceiver(opt)
	if err != nil {
		return nil, err
	}
	defer stopReceiver()

	// Registry first (workers need their projects), then departments and
	// workers, then the feeds and attendance in byte order of their names.
	phases := [][]upload{
		{{sc.Projects, "registry/projects.csv"}},
		{{sc.Departments, "registry/departments.csv"}, {sc.Workers, "registry/workers.csv"}},
	}
	var feeds []upload
	for _, f := range sc.Bank {
		feeds = append(feeds, upload{f, "bank/" + filepath.Base(f)})
	}
	for _, f := range sc.Attendance {
		feeds = append(feeds, upload{f, "attendance/" + filepath.Base(f)})
	}
	phases = append(phases, feeds)
	var keys []string
	loadStart := time.Now()
	for _, ph := range phases {
		for _, u := range ph {
			if err := a.upload(ctx, u); err != nil {
				return nil, err
			}
			keys = append(keys, u.key)
		}
		if err := a.Runner.WaitDrained(ctx, opt.Drain); err != nil {
			return nil, fmt.Errorf("load %s: %w", sc.Dir, err)
		}
	}

	loaded := time.Now()
	scan := handler.NewScan(a.Deps["scan"])
	if _, err := scan.Handle(ctx, handler.ScanInput{AsOf: asOf}); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	if err := a.Runner.WaitDrained(ctx, opt.Drain); err != nil {
		return nil, fmt.Errorf("evaluate and notify: %w", err)
	}

	res := &Result{Namespace: a.Res.Namespace, Load: loaded.Sub(loadStart), Scan: time.Since(loaded)}
	for _, k := range keys {
		ups, err := a.Store.Uploads(ctx, k)
		if err != nil {
			return nil, err
		}
		if len(ups) > 0 {
			res.Files = append(res.Files, ups[len(ups)-1])
		}
	}
	if res.Alerts, err = openAlerts(ctx, a.Store); err != nil {
		return nil, err
	}
	return res, nil
}

type upload struct{ path, key string }

func (a *App) upload(ctx context.Context, u upload) error {
	_, err := a.Res.UploadFile(ctx, u.key, u.path)
	return err
}

// start provisions (or, with Keep, reopens) the namespace, wires every
// function and starts the runner.
func start(ctx context.Context, sc *Scenario, opt Options) (*App, error) {
	tpl, err := stack.LoadTemplate(filepath.Join(opt.Root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	cfg, err := stack.LocalConfig(ctx)
	if err != nil {
		return nil, err
	}
	state := opt.State
	if state == "" {
		state = stack.StatePath(opt.Root)
	}
	var res *stack.Resources
	if opt.Keep {
		res, err = stack.LoadResources(state, cfg, tpl, opt.Log)
		if err != nil {
			return nil, fmt.Errorf("--keep: no previous run to keep: %w", err)
		}
	} else {
		if prev, err := stack.LoadResources(state, cfg, tpl, opt.Log); err == nil {
			// Forget the previous run's namespace: runs never mix.
			_ = stack.Teardown(ctx, cfg, prev.Namespace)
		}
		res, err = stack.Provision(ctx, cfg, tpl, stack.NewNamespace(), opt.Log)
		if err != nil {
			return nil, fmt.Errorf("provision the local stack (is it running? make stack-start): %w", err)
		}
		if err := res.Save(state); err != nil {
			return nil, err
		}
	}
	rulesJSON, _ := json.Marshal(sc.Rules)
	a, err := Wire(ctx, res, WireOptions{
		// A scenario evaluates once, as of its moment, after loading:
		// changes while loading trigger no re-evaluation.
		Env: map[string]string{"WW_REEVALUATE": "off", "WW_RULES": string(rulesJSON)},
		Log: opt.Log, Observe: opt.Observe, Capacity: opt.Capacity,
	})
	if err != nil {
		return nil, err
	}
	a.Runner.RetryVisibility = time.Second
	if err := a.Runner.Start(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// App is the product's functions wired against one namespace of the local
// stack, as the Lambda runtime would run them: a handler per function, and
// a runner that plays the template's queue → function mappings.
type App struct {
	Res    *stack.Resources
	Runner *stack.Runner
	// Deps holds each function's dependencies, by folder name.
	Deps  map[string]*handler.Deps
	Store *store.Store
}

// WireOptions configure Wire.
type WireOptions struct {
	// Env adds to (or overrides) every function's environment.
	Env map[string]string
	// Log receives the functions' logs; nil discards them.
	Log *slog.Logger
	// Observe, when set, sees every SQS event before its function does.
	Observe func(function string, ev events.SQSEvent)
	// Now is the functions' clock (time.Now when nil).
	Now func() time.Time
	// Capacity, when set, is told the write units of every write any
	// function makes (store.Store.Capacity).
	Capacity func(table string, units float64)
}

// Wire builds every function of the template against res, with the
// environment the template gives it, and a runner for the queue-fed ones
// (not started).
func Wire(ctx context.Context, res *stack.Resources, opt WireOptions) (*App, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	tpl := res.Template()
	// The functions' clients find the endpoints, credentials and path-style
	// S3 in the process environment, as on Lambda.
	local, err := res.EnvFor("scan")
	if err != nil {
		return nil, err
	}
	for k, v := range local {
		if strings.HasPrefix(k, "AWS_") && !strings.HasPrefix(k, "AWS_LAMBDA_") || k == "WW_S3_PATH_STYLE" {
			os.Setenv(k, v)
		}
	}
	if os.Getenv("WW_WEBHOOK_SECRET") == "" {
		os.Setenv("WW_WEBHOOK_SECRET", DefaultWebhookSecret)
	}
	awsCfg, err := awsconf.Load(ctx)
	if err != nil {
		return nil, err
	}
	a := &App{Res: res, Deps: map[string]*handler.Deps{}}
	handlers := map[string]stack.SQSHandler{}
	for _, id := range sortedFunctionIDs(tpl) {
		fn := tpl.Functions[id]
		env, err := res.EnvFor(fn.Name)
		if err != nil {
			return nil, err
		}
		for k, v := range opt.Env {
			env[k] = v
		}
		e, err := handler.EnvFrom(func(k string) string { return env[k] })
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn.Name, err)
		}
		d, err := handler.NewDeps(ctx, awsCfg, e, handler.NeedsPII(fn.Name), opt.Now, opt.Log.With("function", fn.Name))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn.Name, err)
		}
		d.Store.Capacity = opt.Capacity
		a.Deps[fn.Name] = d
		if h, ok := handler.ForFunction(fn.Name, d); ok && len(fn.SQS) > 0 {
			if obs, name := opt.Observe, fn.Name; obs != nil {
				inner := h
				h = func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
					obs(name, ev)
					return inner(ctx, ev)
				}
			}
			handlers[id] = stack.SQSHandler(h)
		}
	}
	a.Store = store.New(dynamodb.NewFromConfig(awsCfg), store.Tables{
		Registry: res.Tables["RegistryTable"], Ledger: res.Tables["LedgerTable"], Attendance: res.Tables["AttendanceTable"],
		Alerts: res.Tables["AlertsTable"], Deliveries: res.Tables["DeliveriesTable"], Files: res.Tables["FilesTable"],
	}, opt.Now)
	cfg, err := stack.LocalConfig(ctx)
	if err != nil {
		return nil, err
	}
	a.Runner = stack.NewRunner(cfg, res, handlers, opt.Log.With("component", "runner"))
	// Lambda handles several batches of a queue at once; so does the local
	// stack, which also keeps the emulators busy while a handler waits.
	a.Runner.Pollers = 3
	return a, nil
}

func sortedFunctionIDs(t *stack.Template) []string {
	ids := make([]string, 0, len(t.Functions))
	for id := range t.Functions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// startReceiver serves the local webhook receiver and SMS sink, unless
// something (make demo's receiver) listens on its address already.
func startReceiver(opt Options) (func(), error) {
	addr := opt.ReceiverAddr
	if addr == "" {
		addr = "127.0.0.1:9099"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			fmt.Fprintf(opt.Report, "receiver: %s answers already (a wagewatch receiver?): deliveries go to it\n", addr)
			return func() {}, nil
		}
		return nil, fmt.Errorf("receiver: %w", err)
	}
	secret := notify.StaticSecret([]byte(os.Getenv("WW_WEBHOOK_SECRET")))
	srv := &http.Server{Handler: notify.NewReceiver(notify.ReceiverConfig{
		WebhookSecret: secret, GatewaySecret: secret, Out: opt.Report,
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// openAlerts returns every open or acknowledged alert, sorted by project
// then rule: the projects come from the status index and the open-alert
// index (queries, no scan).
func openAlerts(ctx context.Context, st *store.Store) ([]alert.Alert, error) {
	set := map[string]bool{}
	for _, s := range []registry.Status{registry.Active, registry.Suspended, registry.Completed} {
		ids, err := st.ProjectsByStatus(ctx, s)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			set[id] = true
		}
	}
	open, err := st.ProjectsWithOpenAlerts(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range open {
		set[id] = true
	}
	var out []alert.Alert
	for id := range set {
		as, err := st.CurrentAlerts(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ProjectID != out[j].ProjectID {
			return out[i].ProjectID < out[j].ProjectID
		}
		return out[i].Rule < out[j].Rule
	})
	return out, nil
}

// drainBound is the longest visibility timeout of the template's queues and
// a minute more.
func drainBound(t *stack.Template) time.Duration {
	longest := 30
	for _, q := range t.Queues {
		longest = max(longest, q.VisibilityTimeout)
	}
	return time.Duration(longest)*time.Second + time.Minute
}
