package handler

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/notify"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/route"
	"github.com/wagewatch/wagewatch/shared/rules"
	"github.com/wagewatch/wagewatch/shared/store"
)

// tokenResolver tells which department an API token belongs to.
type tokenResolver interface {
	DeptOfToken(ctx context.Context, token string) (string, bool, error)
}

// deptAlerts reads and changes the alerts a department is a recipient of.
type deptAlerts interface {
	DepartmentAlerts(ctx context.Context, dept, after string, limit int) ([]alert.Alert, string, error)
	Alert(ctx context.Context, id string) (alert.Alert, error)
	SaveAlert(ctx context.Context, a alert.Alert, readVersion int) error
}

// deptRegistry is the registry as the API reads it: routing for manual
// resolutions, projects one at a time and a page's projects at once.
type deptRegistry interface {
	routingReader
	ProjectsByID(ctx context.Context, ids []string) (map[string]registry.Project, error)
}

// deliveryLog lists the delivery attempts of an alert.
type deliveryLog interface {
	AlertDeliveries(ctx context.Context, alertID string) ([]store.Attempt, error)
}

// DeptAPI is the dept-api function, the departments' HTTP API:
//
//	GET  /v1/alerts                 the department's alerts, newest first;
//	                                filters status, rule, county, sector, period
//	                                (each a comma-separated list); limit (1–500,
//	                                default 100) alerts a page, cursor (the
//	                                previous page's next_cursor)
//	GET  /v1/alerts/{id}            one alert with its timeline and deliveries
//	POST /v1/alerts/{id}/ack        {"note": "…"}: acknowledge an open alert
//	POST /v1/alerts/{id}/resolve    {"note": "…"}: resolve by hand (结果回访)
//
// Every request carries "Authorization: Bearer <token>"; the token names one
// department (tokens are stored hashed). A department sees and acts on only
// the alerts it is a recipient of: any other alert, like an unknown id,
// answers 404 with the same body. Errors are {"error": code, "message": …}
// with the codes of package alert.
type DeptAPI struct {
	Tokens     tokenResolver
	Alerts     deptAlerts
	Deliveries deliveryLog
	Registry   deptRegistry
	// Notify, when set, receives one "resolved" delivery per other
	// recipient of an alert a department resolved (rules.md: a resolution
	// notifies the recipients that the warning is cleared).
	Notify sender
	Now    func() time.Time
	Log    *slog.Logger
	// MaxExamined bounds the index entries one list request reads (0:
	// maxExamined).
	MaxExamined int
}

// NewDeptAPI wires the dept-api function. It notifies manual resolutions
// when WW_NOTIFY_QUEUE_URL is set.
func NewDeptAPI(d *Deps) *DeptAPI {
	h := &DeptAPI{Tokens: d.Store, Alerts: d.Store, Deliveries: d.Store, Registry: d.Store, Now: d.Now, Log: d.Log}
	if d.Env.NotifyQueue != "" {
		h.Notify = d.queue(d.Env.NotifyQueue)
	}
	return h
}

// Error codes of the API beyond package alert's.
const (
	eUnauthorized     = "unauthorized"
	eMethodNotAllowed = "method_not_allowed"
)

// deptError is an error with an HTTP status, a code and a message safe to
// show.
type deptError struct {
	status  int
	code    string
	message string
}

func (e *deptError) Error() string { return e.code + ": " + e.message }

func notFound(id string) *deptError {
	return &deptError{http.StatusNotFound, alert.ENotFound, fmt.Sprintf("no alert %q", id)}
}

// Handle answers one request of the HTTP API.
func (h *DeptAPI) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	log := logger(ctx, h.Log)
	status, body, err := h.serve(ctx, log, req)
	if err != nil {
		return deptErrorResponse(ctx, log, err), nil
	}
	return deptJSON(status, body), nil
}

// apiRoute is a request matched to one of the API's routes.
type apiRoute struct {
	action string // list, get, ack, resolve
	id     string
}

// matchRoute matches a method and path to a route.
func matchRoute(method, path string, params map[string]string) (apiRoute, error) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) < 2 || segs[0] != "v1" || segs[1] != "alerts" || len(segs) > 4 {
		return apiRoute{}, &deptError{http.StatusNotFound, alert.ENotFound, "no such route"}
	}
	var r apiRoute
	want := http.MethodGet
	switch len(segs) {
	case 2:
		r.action = "list"
	case 3:
		r.action = "get"
	case 4:
		switch segs[3] {
		case "ack", "resolve":
			r.action, want = segs[3], http.MethodPost
		default:
			return apiRoute{}, &deptError{http.StatusNotFound, alert.ENotFound, "no such route"}
		}
	}
	if len(segs) > 2 {
		r.id = params["id"]
		if r.id == "" {
			id, err := url.PathUnescape(segs[2])
			if err != nil {
				return apiRoute{}, notFound(segs[2])
			}
			r.id = id
		}
		if r.id == "" {
			return apiRoute{}, &deptError{http.StatusNotFound, alert.ENotFound, "no such route"}
		}
	}
	if !strings.EqualFold(method, want) {
		return apiRoute{}, &deptError{http.StatusMethodNotAllowed, eMethodNotAllowed, fmt.Sprintf("%s %s: use %s", method, path, want)}
	}
	return r, nil
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header (header names in any case).
func bearerToken(headers map[string]string) (string, bool) {
	for k, v := range headers {
		if !strings.EqualFold(k, "authorization") {
			continue
		}
		scheme, token, ok := strings.Cut(strings.TrimSpace(v), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
			return "", false
		}
		return token, true
	}
	return "", false
}

func (h *DeptAPI) serve(ctx context.Context, log *slog.Logger, req events.APIGatewayV2HTTPRequest) (int, any, error) {
	method := req.RequestContext.HTTP.Method
	path := req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	r, err := matchRoute(method, path, req.PathParameters)
	if err != nil {
		return 0, nil, err
	}
	dept, err := h.authenticate(ctx, req.Headers)
	if err != nil {
		return 0, nil, err
	}
	switch r.action {
	case "list":
		f, err := parseAlertFilter(req.QueryStringParameters)
		if err != nil {
			return 0, nil, err
		}
		pg, err := parsePage(req.QueryStringParameters)
		if err != nil {
			return 0, nil, err
		}
		v, err := h.list(ctx, dept, f, pg)
		return http.StatusOK, v, err
	case "get":
		a, err := h.visibleAlert(ctx, dept, r.id)
		if err != nil {
			return 0, nil, err
		}
		v, err := h.detail(ctx, dept, a)
		return http.StatusOK, v, err
	}
	note, err := parseNote(req)
	if err != nil {
		return 0, nil, err
	}
	a, err := h.visibleAlert(ctx, dept, r.id)
	if err != nil {
		return 0, nil, err
	}
	now := h.Now()
	var b alert.Alert
	if r.action == "ack" {
		b, err = alert.Acknowledge(a, dept, note, now)
	} else {
		b, err = alert.Resolve(a, dept, note, now)
	}
	if err != nil {
		return 0, nil, err
	}
	if err := h.Alerts.SaveAlert(ctx, b, a.Version); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return 0, nil, alert.Errorf(alert.EConflict, "alert %s changed meanwhile: read it again", a.ID)
		}
		return 0, nil, err
	}
	b.Version = a.Version + 1
	log.InfoContext(ctx, "alert "+b.Timeline[len(b.Timeline)-1].Kind+" by department",
		"alert_id", b.ID, "dept_id", dept, "status", string(b.Status))
	if r.action == "resolve" {
		h.notifyResolved(ctx, log, dept, b)
	}
	v, err := h.detail(ctx, dept, b)
	return http.StatusOK, v, err
}

// authenticate returns the department of the request's bearer token.
func (h *DeptAPI) authenticate(ctx context.Context, headers map[string]string) (string, error) {
	token, ok := bearerToken(headers)
	if !ok {
		return "", &deptError{http.StatusUnauthorized, eUnauthorized, "an Authorization: Bearer <token> header is required"}
	}
	dept, ok, err := h.Tokens.DeptOfToken(ctx, token)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &deptError{http.StatusUnauthorized, eUnauthorized, "unknown or revoked token"}
	}
	return dept, nil
}

// visibleAlert returns the alert with the id when dept is one of its
// recipients, and the same not-found error otherwise as for an unknown id.
func (h *DeptAPI) visibleAlert(ctx context.Context, dept, id string) (alert.Alert, error) {
	a, err := h.Alerts.Alert(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return a, notFound(id)
	}
	if err != nil {
		return a, err
	}
	if !visibleTo(a, dept) {
		return alert.Alert{}, notFound(id)
	}
	return a, nil
}

// visibleTo reports whether dept may see and act on a: it is one of its
// recipients.
func visibleTo(a alert.Alert, dept string) bool {
	return dept != "" && slices.Contains(a.Recipients, dept)
}

// notifyResolved tells the alert's other recipients that it was resolved.
// The resolution is saved already: a failure here is logged, not answered.
func (h *DeptAPI) notifyResolved(ctx context.Context, log *slog.Logger, dept string, a alert.Alert) {
	if h.Notify == nil {
		return
	}
	err := func() error {
		p, ok, err := h.Registry.Project(ctx, a.ProjectID)
		if err != nil || !ok {
			return errors.Join(err, fmt.Errorf("project %s not registered", a.ProjectID))
		}
		depts, err := h.Registry.Departments(ctx)
		if err != nil {
			return err
		}
		others := slices.DeleteFunc(slices.Clone(a.Recipients), func(id string) bool { return id == dept })
		msgs, err := deliveryMessages(p, route.Build(depts), a, notify.ChangeResolved, others)
		if err != nil {
			return err
		}
		return h.Notify.Send(ctx, msgs)
	}()
	if err != nil {
		log.ErrorContext(ctx, "notify manual resolution failed", "alert_id", a.ID, "err", err.Error())
	}
}

// noteBody is the body of an ack or resolve request.
type noteBody struct {
	Note string `json:"note"`
}

func parseNote(req events.APIGatewayV2HTTPRequest) (string, error) {
	raw := []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return "", alert.Errorf(alert.EInvalid, "the body is not valid base64")
		}
		raw = b
	}
	var body noteBody
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return "", alert.Errorf(alert.EInvalid, `the body must be {"note": "…"}`)
	}
	if len([]rune(body.Note)) > 2000 {
		return "", alert.Errorf(alert.EInvalid, "the note is longer than 2000 characters")
	}
	return strings.TrimSpace(body.Note), nil
}

// AlertFilter selects alerts of the list; an empty field selects any.
type AlertFilter struct {
	Status []alert.Status
	Rule   []rules.Rule
	County []string
	Sector []registry.Sector
	Period []day.Month
}

var filterSectors = []registry.Sector{registry.Housing, registry.Transport, registry.Water, registry.SOE, registry.OtherSec}

// parseAlertFilter reads the list's query parameters. API Gateway joins a
// repeated parameter with commas, so every filter is a comma-separated list.
// An unknown parameter or value is an invalid request.
func parseAlertFilter(q map[string]string) (AlertFilter, error) {
	var f AlertFilter
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range strings.Split(q[name], ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			bad := func() error { return alert.Errorf(alert.EInvalid, "%s %q is not valid", name, v) }
			switch name {
			case "limit", "cursor":
				// paging, not a filter: parsePage
			case "status":
				s := alert.Status(v)
				if s != alert.Open && s != alert.Acknowledged && s != alert.Resolved {
					return f, bad()
				}
				f.Status = append(f.Status, s)
			case "rule":
				r, err := rules.ParseRule(v)
				if err != nil {
					return f, bad()
				}
				f.Rule = append(f.Rule, r)
			case "county":
				if len(v) != 6 || strings.Trim(v, "0123456789") != "" {
					return f, bad()
				}
				f.County = append(f.County, v)
			case "sector":
				s := registry.Sector(v)
				if !slices.Contains(filterSectors, s) {
					return f, bad()
				}
				f.Sector = append(f.Sector, s)
			case "period":
				m, err := day.ParseMonth(v)
				if err != nil {
					return f, bad()
				}
				f.Period = append(f.Period, m)
			default:
				return f, alert.Errorf(alert.EInvalid, "unknown parameter %q (filters: status, rule, county, sector, period; paging: limit, cursor)", name)
			}
		}
	}
	return f, nil
}

// Paging of the list.
const (
	defaultPageSize = 100
	maxPageSize     = 500
	// maxExamined bounds the index entries one list request reads: past it,
	// the request ends with the index page it is on. With a filter that few
	// alerts pass, a page may so end short of limit, with a next_cursor to
	// go on from.
	maxExamined = 2000
)

// page is where a list starts (a store.DeptCursor, "" for the newest) and
// how many alerts it returns at most.
type page struct {
	after string
	limit int
}

// parsePage reads limit and cursor. The cursor is opaque to clients:
// base64url of the store's cursor.
func parsePage(q map[string]string) (page, error) {
	pg := page{limit: defaultPageSize}
	if v := strings.TrimSpace(q["limit"]); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return pg, alert.Errorf(alert.EInvalid, "limit %q is not valid (1 to %d)", v, maxPageSize)
		}
		pg.limit = n
	}
	if v := strings.TrimSpace(q["cursor"]); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || !store.ValidDeptCursor(string(raw)) {
			return pg, alert.Errorf(alert.EInvalid, "cursor %q is not valid: pass the next_cursor of a list answer", v)
		}
		pg.after = string(raw)
	}
	return pg, nil
}

// Match reports whether an alert of project p passes the filter.
func (f AlertFilter) Match(a alert.Alert, p registry.Project) bool {
	return anyOf(f.Status, a.Status) && anyOf(f.Rule, a.Rule) && anyOf(f.County, p.CountyCode) &&
		anyOf(f.Sector, p.Sector) && anyOf(f.Period, a.Period)
}

func anyOf[T comparable](want []T, v T) bool { return len(want) == 0 || slices.Contains(want, v) }

// AlertSummary is an alert as the list shows it.
type AlertSummary struct {
	ID             string     `json:"id"`
	ProjectID      string     `json:"project_id"`
	ProjectName    string     `json:"project_name,omitempty"`
	CountyCode     string     `json:"county_code,omitempty"`
	Sector         string     `json:"sector,omitempty"`
	Rule           string     `json:"rule"`
	RuleChinese    string     `json:"rule_chinese"`
	Status         string     `json:"status"`
	Severity       string     `json:"severity"`
	Workers        int        `json:"workers"`
	Amount         money.Fen  `json:"amount"`
	Period         day.Month  `json:"period"`
	Recipients     []string   `json:"recipients"`
	Escalated      bool       `json:"escalated"`
	OpenedAt       time.Time  `json:"opened_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	Resolution     string     `json:"resolution,omitempty"`
	Version        int        `json:"version"`
}

// AlertDetail is one alert with its timeline and delivery attempts.
type AlertDetail struct {
	AlertSummary
	Timeline   []alert.Event  `json:"timeline"`
	Deliveries []DeliveryView `json:"deliveries"`
}

// DeliveryView is one delivery attempt as the API shows it. The error text
// is shown only to the department the attempt was for (it may name another
// department's endpoint).
type DeliveryView struct {
	DeliveryID string    `json:"delivery_id"`
	DeptID     string    `json:"dept_id"`
	Channel    string    `json:"channel"`
	Attempt    int       `json:"attempt"`
	Status     string    `json:"status"`
	HTTPStatus int       `json:"http_status,omitempty"`
	LatencyMS  int64     `json:"latency_ms"`
	Error      string    `json:"error,omitempty"`
	At         time.Time `json:"at"`
}

// AlertList is the list's body.
type AlertList struct {
	Alerts []AlertSummary `json:"alerts"`
	Count  int            `json:"count"`
	// NextCursor, when set, fetches the next page (?cursor=…, the same
	// filters); absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

func summarize(a alert.Alert, p registry.Project) AlertSummary {
	return AlertSummary{
		ID: a.ID, ProjectID: a.ProjectID, ProjectName: p.Name, CountyCode: p.CountyCode, Sector: string(p.Sector),
		Rule: string(a.Rule), RuleChinese: a.Rule.Chinese(), Status: string(a.Status), Severity: string(a.Severity),
		Workers: a.Workers, Amount: a.Amount, Period: a.Period, Recipients: append([]string{}, a.Recipients...),
		Escalated: a.Escalated, OpenedAt: a.OpenedAt, UpdatedAt: a.UpdatedAt,
		AcknowledgedAt: a.AcknowledgedAt, ResolvedAt: a.ResolvedAt, Resolution: a.Resolution, Version: a.Version,
	}
}

// detailOf builds an alert's detail as dept sees it.
func detailOf(a alert.Alert, p registry.Project, attempts []store.Attempt, dept string) AlertDetail {
	d := AlertDetail{AlertSummary: summarize(a, p), Timeline: append([]alert.Event{}, a.Timeline...), Deliveries: []DeliveryView{}}
	for _, at := range attempts {
		v := DeliveryView{DeliveryID: at.DeliveryID, DeptID: at.DeptID, Channel: at.Channel, Attempt: at.Attempt,
			Status: at.Status, HTTPStatus: at.HTTPStatus, LatencyMS: at.Latency.Milliseconds(), At: at.At}
		if at.DeptID == dept {
			v.Error = at.Error
		}
		d.Deliveries = append(d.Deliveries, v)
	}
	sort.SliceStable(d.Deliveries, func(i, j int) bool { return d.Deliveries[i].At.Before(d.Deliveries[j].At) })
	return d
}

// list returns a page of the department's alerts that pass the filter,
// newest first: index pages of pg.limit entries, each with its alerts and
// projects read in batches, until the page is full, the index ends, or
// maxExamined entries were read.
func (h *DeptAPI) list(ctx context.Context, dept string, f AlertFilter, pg page) (AlertList, error) {
	out := AlertList{Alerts: []AlertSummary{}}
	after, examined, budget := pg.after, 0, h.MaxExamined
	if budget <= 0 {
		budget = maxExamined
	}
pages:
	for {
		alerts, next, err := h.Alerts.DepartmentAlerts(ctx, dept, after, pg.limit)
		if err != nil {
			return AlertList{}, err
		}
		ids := make([]string, 0, len(alerts))
		for _, a := range alerts {
			ids = append(ids, a.ProjectID)
		}
		projects, err := h.Registry.ProjectsByID(ctx, ids)
		if err != nil {
			return AlertList{}, err
		}
		for i, a := range alerts {
			after = store.DeptCursor(a)
			examined++
			// The index lists only the department's alerts; checking again
			// costs nothing and keeps the rule in one place.
			if visibleTo(a, dept) && f.Match(a, projects[a.ProjectID]) {
				out.Alerts = append(out.Alerts, summarize(a, projects[a.ProjectID]))
			}
			if len(out.Alerts) == pg.limit {
				if i < len(alerts)-1 || next != "" {
					out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(after))
				}
				break pages
			}
		}
		if next == "" {
			break
		}
		after = next
		if examined >= budget {
			out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(after))
			break
		}
	}
	out.Count = len(out.Alerts)
	return out, nil
}

func (h *DeptAPI) detail(ctx context.Context, dept string, a alert.Alert) (AlertDetail, error) {
	p, _, err := h.Registry.Project(ctx, a.ProjectID)
	if err != nil {
		return AlertDetail{}, err
	}
	attempts, err := h.Deliveries.AlertDeliveries(ctx, a.ID)
	if err != nil {
		return AlertDetail{}, err
	}
	return detailOf(a, p, attempts, dept), nil
}

// deptErrorBody is the body of every error answer.
type deptErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// deptErrorResponse turns an error into its answer: the API's own errors and
// package alert's codes keep their message; anything else is logged and
// answers 500 with a message that says nothing more.
func deptErrorResponse(ctx context.Context, log *slog.Logger, err error) events.APIGatewayV2HTTPResponse {
	var ae *deptError
	if errors.As(err, &ae) {
		return deptJSON(ae.status, deptErrorBody{ae.code, ae.message})
	}
	code := alert.ErrorCode(err)
	status := map[string]int{
		alert.EConflict: http.StatusConflict, alert.EInvalid: http.StatusBadRequest, alert.ENotFound: http.StatusNotFound,
	}[code]
	if status == 0 {
		log.ErrorContext(ctx, "dept api failed", "err", err.Error())
		return deptJSON(http.StatusInternalServerError, deptErrorBody{alert.EInternal, "internal error"})
	}
	return deptJSON(status, deptErrorBody{code, alert.ErrorMessage(err)})
}

func deptJSON(status int, body any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal","message":"internal error"}`)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"},
		Body:       string(b),
	}
}
