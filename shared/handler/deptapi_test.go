package handler

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/route"
	"github.com/wagewatch/wagewatch/shared/rules"
	"github.com/wagewatch/wagewatch/shared/store"
)

func TestMatchRoute(t *testing.T) {
	id := "P-HOUSING:wage_arrears:1"
	tests := []struct {
		name   string
		method string
		path   string
		params map[string]string
		want   apiRoute
		status int // 0: matched
	}{
		{"list", "GET", "/v1/alerts", nil, apiRoute{action: "list"}, 0},
		{"list with a trailing slash", "GET", "/v1/alerts/", nil, apiRoute{action: "list"}, 0},
		{"one", "GET", "/v1/alerts/" + id, nil, apiRoute{action: "get", id: id}, 0},
		{"one, escaped", "GET", "/v1/alerts/P-HOUSING%3Awage_arrears%3A1", nil, apiRoute{action: "get", id: id}, 0},
		{"one, path parameter wins", "GET", "/v1/alerts/whatever", map[string]string{"id": id}, apiRoute{action: "get", id: id}, 0},
		{"ack", "POST", "/v1/alerts/" + id + "/ack", nil, apiRoute{action: "ack", id: id}, 0},
		{"resolve", "post", "/v1/alerts/" + id + "/resolve", nil, apiRoute{action: "resolve", id: id}, 0},
		{"ack with GET", "GET", "/v1/alerts/" + id + "/ack", nil, apiRoute{}, http.StatusMethodNotAllowed},
		{"list with POST", "POST", "/v1/alerts", nil, apiRoute{}, http.StatusMethodNotAllowed},
		{"one with DELETE", "DELETE", "/v1/alerts/" + id, nil, apiRoute{}, http.StatusMethodNotAllowed},
		{"unknown action", "POST", "/v1/alerts/" + id + "/delete", nil, apiRoute{}, http.StatusNotFound},
		{"too deep", "GET", "/v1/alerts/" + id + "/ack/x", nil, apiRoute{}, http.StatusNotFound},
		{"other version", "GET", "/v2/alerts", nil, apiRoute{}, http.StatusNotFound},
		{"root", "GET", "/", nil, apiRoute{}, http.StatusNotFound},
		{"bad escape", "GET", "/v1/alerts/%zz", nil, apiRoute{}, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := matchRoute(tt.method, tt.path, tt.params)
			if tt.status == 0 {
				if err != nil || got != tt.want {
					t.Errorf("matchRoute = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			var de *deptError
			if !errors.As(err, &de) || de.status != tt.status {
				t.Errorf("matchRoute error %v, want status %d", err, tt.status)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		headers map[string]string
		want    string
		ok      bool
	}{
		{map[string]string{"authorization": "Bearer wwd_abc"}, "wwd_abc", true},
		{map[string]string{"Authorization": "bearer  wwd_abc "}, "wwd_abc", true},
		{map[string]string{"authorization": "Basic dXNlcjpwYXNz"}, "", false},
		{map[string]string{"authorization": "Bearer"}, "", false},
		{map[string]string{"authorization": "Bearer "}, "", false},
		{map[string]string{"x-api-key": "wwd_abc"}, "", false},
		{nil, "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.headers), func(t *testing.T) {
			got, ok := bearerToken(tt.headers)
			if got != tt.want || ok != tt.ok {
				t.Errorf("bearerToken = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseAlertFilter(t *testing.T) {
	jan, feb := day.MonthOf(2025, time.January), day.MonthOf(2025, time.February)
	tests := []struct {
		name    string
		q       map[string]string
		want    AlertFilter
		wantErr string // a part of the message of an invalid request
	}{
		{"none", nil, AlertFilter{}, ""},
		{"all five", map[string]string{"status": "open,acknowledged", "rule": "wage_arrears", "county": "620502", "sector": "housing", "period": "2025-01,2025-02"},
			AlertFilter{Status: []alert.Status{alert.Open, alert.Acknowledged}, Rule: []rules.Rule{rules.WageArrears},
				County: []string{"620502"}, Sector: []registry.Sector{registry.Housing}, Period: []day.Month{jan, feb}}, ""},
		{"empty values are no filter", map[string]string{"status": "", "rule": " , "}, AlertFilter{}, ""},
		{"unknown status", map[string]string{"status": "closed"}, AlertFilter{}, `status "closed"`},
		{"unknown rule", map[string]string{"rule": "late"}, AlertFilter{}, `rule "late"`},
		{"county not 6 digits", map[string]string{"county": "62050"}, AlertFilter{}, `county "62050"`},
		{"county not digits", map[string]string{"county": "62050x"}, AlertFilter{}, `county "62050x"`},
		{"gov is not a project sector", map[string]string{"sector": "gov"}, AlertFilter{}, `sector "gov"`},
		{"bad period", map[string]string{"period": "2025-13"}, AlertFilter{}, `period "2025-13"`},
		{"unknown parameter", map[string]string{"stauts": "open"}, AlertFilter{}, `unknown parameter "stauts"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAlertFilter(tt.q)
			if tt.wantErr != "" {
				if alert.ErrorCode(err) != alert.EInvalid || !strings.Contains(alert.ErrorMessage(err), tt.wantErr) {
					t.Errorf("error %v, want invalid mentioning %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseAlertFilter = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParsePage(t *testing.T) {
	cursor := store.DeptCursor(alert.Alert{ID: "P-1:wage_arrears:2", OpenedAt: time.Date(2025, 3, 10, 1, 0, 0, 0, time.UTC)})
	enc := base64.RawURLEncoding.EncodeToString([]byte(cursor))
	tests := []struct {
		name    string
		q       map[string]string
		want    page
		wantErr string
	}{
		{"default", nil, page{limit: 100}, ""},
		{"limit 1", map[string]string{"limit": "1"}, page{limit: 1}, ""},
		{"limit 500", map[string]string{"limit": "500"}, page{limit: 500}, ""},
		{"limit 0", map[string]string{"limit": "0"}, page{}, `limit "0"`},
		{"limit 501", map[string]string{"limit": "501"}, page{}, `limit "501"`},
		{"limit not a number", map[string]string{"limit": "ten"}, page{}, `limit "ten"`},
		{"cursor", map[string]string{"cursor": enc, "limit": "20"}, page{after: cursor, limit: 20}, ""},
		{"cursor not base64url", map[string]string{"cursor": "!!"}, page{}, `cursor "!!"`},
		{"cursor of another shape", map[string]string{"cursor": base64.RawURLEncoding.EncodeToString([]byte("2025#x"))}, page{}, "cursor"},
		{"cursor with a bad alert id", map[string]string{"cursor": base64.RawURLEncoding.EncodeToString([]byte(cursor[:31] + "P-1:wage_arrears:x"))}, page{}, "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePage(tt.q)
			if tt.wantErr != "" {
				if alert.ErrorCode(err) != alert.EInvalid || !strings.Contains(alert.ErrorMessage(err), tt.wantErr) {
					t.Errorf("error %v, want invalid mentioning %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parsePage = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	// Paging parameters are no filters.
	if f, err := parseAlertFilter(map[string]string{"limit": "5", "cursor": enc}); err != nil || !reflect.DeepEqual(f, AlertFilter{}) {
		t.Errorf("parseAlertFilter(limit, cursor) = %+v, %v; want no filter", f, err)
	}
}

func TestAlertFilterMatch(t *testing.T) {
	a := openedAlert(t, escHousing, rules.WageArrears, rules.Yellow, escT0) // open, 2025-01
	jan := day.MonthOf(2025, time.January)
	tests := []struct {
		name string
		f    AlertFilter
		p    registry.Project
		want bool
	}{
		{"no filter", AlertFilter{}, escHousing, true},
		{"status among several", AlertFilter{Status: []alert.Status{alert.Resolved, alert.Open}}, escHousing, true},
		{"other status", AlertFilter{Status: []alert.Status{alert.Acknowledged}}, escHousing, false},
		{"rule", AlertFilter{Rule: []rules.Rule{rules.WageArrears}}, escHousing, true},
		{"other rule", AlertFilter{Rule: []rules.Rule{rules.FeedMissing}}, escHousing, false},
		{"county of the project", AlertFilter{County: []string{"620502"}}, escHousing, true},
		{"other county", AlertFilter{County: []string{"620503"}}, escHousing, false},
		{"sector of the project", AlertFilter{Sector: []registry.Sector{registry.Housing}}, escHousing, true},
		{"other sector", AlertFilter{Sector: []registry.Sector{registry.Water}}, escHousing, false},
		{"unregistered project matches no county", AlertFilter{County: []string{"620502"}}, registry.Project{}, false},
		{"period", AlertFilter{Period: []day.Month{jan}}, escHousing, true},
		{"other period", AlertFilter{Period: []day.Month{jan + 1}}, escHousing, false},
		{"all five", AlertFilter{Status: []alert.Status{alert.Open}, Rule: []rules.Rule{rules.WageArrears},
			County: []string{"620502"}, Sector: []registry.Sector{registry.Housing}, Period: []day.Month{jan}}, escHousing, true},
		{"all but one", AlertFilter{Status: []alert.Status{alert.Open}, Rule: []rules.Rule{rules.WageArrears},
			County: []string{"620502"}, Sector: []registry.Sector{registry.Housing}, Period: []day.Month{jan + 1}}, escHousing, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Match(a, tt.p); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVisibleTo(t *testing.T) {
	a := openedAlert(t, escHousing, rules.WageArrears, rules.Yellow, escT0) // qz-gov, qz-housing
	for dept, want := range map[string]bool{"qz-gov": true, "qz-housing": true, "city-gov": false, "mj-gov": false, "": false} {
		if got := visibleTo(a, dept); got != want {
			t.Errorf("visibleTo(%q) = %v, want %v", dept, got, want)
		}
	}
	b, _, err := escalateAlert(a, escHousing, route.Build(escDepts), escT0.Add(49*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !visibleTo(b, "city-gov") {
		t.Error("an escalated alert is not visible to the city department it was escalated to")
	}
}

func TestDetailOf(t *testing.T) {
	a := openedAlert(t, escHousing, rules.WageArrears, rules.Yellow, escT0)
	a.Version = 1
	attempts := []store.Attempt{
		{DeliveryID: "d/1/qz-gov", AlertID: a.ID, DeptID: "qz-gov", Channel: "webhook", Attempt: 2, Status: "delivered",
			HTTPStatus: 200, Latency: 1500 * time.Millisecond, At: escT0.Add(2 * time.Minute)},
		{DeliveryID: "d/1/qz-gov", AlertID: a.ID, DeptID: "qz-gov", Channel: "webhook", Attempt: 1, Status: "retry",
			HTTPStatus: 503, Error: "http://127.0.0.1:9099/hook/qz-gov: 503", At: escT0.Add(time.Minute)},
		{DeliveryID: "d/1/qz-housing", AlertID: a.ID, DeptID: "qz-housing", Channel: "sms:0", Attempt: 1, Status: "failed",
			Error: "gateway said no", At: escT0.Add(90 * time.Second)},
	}
	got := detailOf(a, escHousing, attempts, "qz-housing")
	if got.ID != a.ID || got.ProjectName != escHousing.Name || got.CountyCode != "620502" || got.Sector != "housing" ||
		got.RuleChinese != "未按时足额支付工资" || got.Status != "open" || got.Version != 1 {
		t.Errorf("summary %+v", got.AlertSummary)
	}
	if !reflect.DeepEqual(got.Timeline, a.Timeline) {
		t.Errorf("timeline %+v, want %+v", got.Timeline, a.Timeline)
	}
	var order []string
	for _, d := range got.Deliveries {
		order = append(order, fmt.Sprintf("%s/%d/%s", d.DeptID, d.Attempt, d.Error))
	}
	want := []string{"qz-gov/1/", "qz-housing/1/gateway said no", "qz-gov/2/"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("deliveries %v, want %v (by time; errors only of the asking department)", order, want)
	}
	if got.Deliveries[2].LatencyMS != 1500 || got.Deliveries[2].HTTPStatus != 200 {
		t.Errorf("delivery %+v: want latency 1500 ms and status 200", got.Deliveries[2])
	}
	body, err := json.Marshal(detailOf(a, escHousing, nil, "qz-gov"))
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{`"deliveries":[]`, `"amount":"12345.00"`, `"period":"2025-01"`, `"timeline":[{`} {
		if !bytes.Contains(body, []byte(part)) {
			t.Errorf("body %s lacks %s", body, part)
		}
	}
}

func TestParseNote(t *testing.T) {
	tests := []struct {
		name    string
		req     events.APIGatewayV2HTTPRequest
		want    string
		invalid bool
	}{
		{"note", events.APIGatewayV2HTTPRequest{Body: `{"note":" 已约谈总包单位 "}`}, "已约谈总包单位", false},
		{"base64", events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString([]byte(`{"note":"已回访"}`)), IsBase64Encoded: true}, "已回访", false},
		{"empty note passes here, the transition refuses it", events.APIGatewayV2HTTPRequest{Body: `{}`}, "", false},
		{"not JSON", events.APIGatewayV2HTTPRequest{Body: `note=x`}, "", true},
		{"no body", events.APIGatewayV2HTTPRequest{}, "", true},
		{"unknown field", events.APIGatewayV2HTTPRequest{Body: `{"note":"x","status":"resolved"}`}, "", true},
		{"bad base64", events.APIGatewayV2HTTPRequest{Body: "!!", IsBase64Encoded: true}, "", true},
		{"too long", events.APIGatewayV2HTTPRequest{Body: `{"note":"` + strings.Repeat("欠", 2001) + `"}`}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNote(tt.req)
			if tt.invalid {
				if alert.ErrorCode(err) != alert.EInvalid {
					t.Errorf("error %v, want invalid", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseNote = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDeptErrorResponse(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		body   string
		logged bool
	}{
		{"not found", notFound("P1:wage_arrears:1"), 404, `{"error":"not_found","message":"no alert \"P1:wage_arrears:1\""}`, false},
		{"unauthorized", &deptError{401, eUnauthorized, "unknown token"}, 401, `{"error":"unauthorized","message":"unknown token"}`, false},
		{"conflict", fmt.Errorf("ack: %w", alert.Errorf(alert.EConflict, "alert x is resolved")), 409, `{"error":"conflict","message":"alert x is resolved"}`, false},
		{"invalid", alert.Errorf(alert.EInvalid, "a note is required"), 400, `{"error":"invalid","message":"a note is required"}`, false},
		{"anything else", fmt.Errorf("get P#1/AL#x: %w", errors.New("dial tcp 10.0.0.1:443: timeout")), 500, `{"error":"internal","message":"internal error"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			r := deptErrorResponse(t.Context(), slog.New(slog.NewTextHandler(&logs, nil)), tt.err)
			if r.StatusCode != tt.status || r.Body != tt.body {
				t.Errorf("answer %d %s, want %d %s", r.StatusCode, r.Body, tt.status, tt.body)
			}
			if r.Headers["Content-Type"] != "application/json; charset=utf-8" {
				t.Errorf("content type %q", r.Headers["Content-Type"])
			}
			if logged := strings.Contains(logs.String(), "dial tcp"); logged != tt.logged {
				t.Errorf("logged the error: %v, want %v (%s)", logged, tt.logged, logs.String())
			}
		})
	}
}
