package handler

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/notify"
	"github.com/wagewatch/wagewatch/shared/queue"
	"github.com/wagewatch/wagewatch/shared/rules"
	"github.com/wagewatch/wagewatch/shared/store"
)

func deptRequest(method, path, token, body string, q map[string]string) events.APIGatewayV2HTTPRequest {
	r := events.APIGatewayV2HTTPRequest{RawPath: path, Body: body, QueryStringParameters: q, Headers: map[string]string{}}
	r.RequestContext.HTTP.Method, r.RequestContext.HTTP.Path = method, path
	if token != "" {
		r.Headers["authorization"] = "Bearer " + token
	}
	return r
}

// deptCall sends one request and decodes the answer into out (when not nil).
func deptCall(t *testing.T, h *DeptAPI, req events.APIGatewayV2HTTPRequest, wantStatus int, out any) string {
	t.Helper()
	resp, err := h.Handle(t.Context(), req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.RequestContext.HTTP.Method, req.RawPath, err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d %s, want %d", req.RequestContext.HTTP.Method, req.RawPath, resp.StatusCode, resp.Body, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(resp.Body), out); err != nil {
			t.Fatalf("decode %s: %v", resp.Body, err)
		}
	}
	return resp.Body
}

func listIDs(l AlertList) []string {
	ids := []string{}
	for _, a := range l.Alerts {
		ids = append(ids, a.ID)
	}
	return ids
}

func TestDeptAPILocal(t *testing.T) {
	ls := newLocalStack(t, escT0)
	ctx := t.Context()
	h := NewDeptAPI(ls.deps(t, "dept-api"))

	housing := ls.open(t, escHousing, rules.WageArrears, rules.Yellow) // qz-gov, qz-housing
	water := ls.open(t, escWater, rules.WageArrears, rules.Orange)     // city-water, mj-gov
	ls.clock.t = escT0.Add(time.Hour)
	feed := ls.open(t, escHousing, rules.FeedMissing, rules.Yellow) // qz-gov, qz-housing
	if err := ls.store.RecordAttempt(ctx, store.Attempt{DeliveryID: notify.DeliveryID(housing.ID, 1, "qz-gov"), AlertID: housing.ID,
		DeptID: "qz-gov", Channel: "webhook", Attempt: 1, Status: "delivered", HTTPStatus: 200, Latency: 40 * time.Millisecond, At: escT0}); err != nil {
		t.Fatal(err)
	}

	tokens := map[string]string{}
	for _, dept := range []string{"qz-housing", "qz-gov", "mj-gov", "city-gov"} {
		tokens[dept] = "wwd_test_" + dept + "_" + fmt.Sprint(time.Now().UnixNano())
		if err := ls.store.PutDeptToken(ctx, dept, tokens[dept]); err != nil {
			t.Fatal(err)
		}
	}
	if err := ls.store.PutDeptToken(ctx, "mj-gov", tokens["qz-gov"]); err == nil {
		t.Error("a token stored twice was accepted")
	}

	t.Run("authentication", func(t *testing.T) {
		var e deptErrorBody
		deptCall(t, h, deptRequest("GET", "/v1/alerts", "", "", nil), http.StatusUnauthorized, &e)
		if e.Error != eUnauthorized {
			t.Errorf("no token: %+v", e)
		}
		deptCall(t, h, deptRequest("GET", "/v1/alerts", "wwd_not_a_token", "", nil), http.StatusUnauthorized, &e)
		deptCall(t, h, deptRequest("POST", "/v1/alerts/"+housing.ID+"/ack", "wwd_not_a_token", `{"note":"x"}`, nil), http.StatusUnauthorized, nil)
		if dept, ok, err := ls.store.DeptOfToken(ctx, tokens["mj-gov"]); err != nil || !ok || dept != "mj-gov" {
			t.Errorf("DeptOfToken = %q, %v, %v; want mj-gov", dept, ok, err)
		}
	})

	t.Run("list and filters", func(t *testing.T) {
		tests := []struct {
			dept string
			q    map[string]string
			want []string
		}{
			{"qz-housing", nil, []string{feed.ID, housing.ID}},
			{"qz-gov", map[string]string{"rule": "wage_arrears"}, []string{housing.ID}},
			{"qz-housing", map[string]string{"status": "open", "period": "2025-01"}, []string{feed.ID, housing.ID}},
			{"qz-housing", map[string]string{"county": "620502", "sector": "housing"}, []string{feed.ID, housing.ID}},
			{"qz-housing", map[string]string{"county": "620503"}, []string{}},
			{"qz-housing", map[string]string{"sector": "water"}, []string{}},
			{"qz-housing", map[string]string{"status": "resolved"}, []string{}},
			{"qz-housing", map[string]string{"period": "2025-02"}, []string{}},
			{"mj-gov", nil, []string{water.ID}},
			{"mj-gov", map[string]string{"sector": "water", "county": "620503"}, []string{water.ID}},
			{"city-gov", nil, []string{}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.dept, tt.q), func(t *testing.T) {
				var l AlertList
				deptCall(t, h, deptRequest("GET", "/v1/alerts", tokens[tt.dept], "", tt.q), http.StatusOK, &l)
				if got := listIDs(l); !reflect.DeepEqual(got, tt.want) || l.Count != len(tt.want) {
					t.Errorf("alerts %v (count %d), want %v", got, l.Count, tt.want)
				}
			})
		}
		var e deptErrorBody
		deptCall(t, h, deptRequest("GET", "/v1/alerts", tokens["qz-gov"], "", map[string]string{"status": "closed"}), http.StatusBadRequest, &e)
		if e.Error != alert.EInvalid {
			t.Errorf("bad filter: %+v", e)
		}
	})

	t.Run("pages", func(t *testing.T) {
		// Every page size, with and without a filter: following next_cursor
		// gives the whole list once, in order, at most limit a page.
		tests := []struct {
			dept  string
			q     map[string]string
			limit int
			want  []string
		}{
			{"qz-housing", nil, 1, []string{feed.ID, housing.ID}},
			{"qz-housing", nil, 2, []string{feed.ID, housing.ID}},
			{"qz-housing", nil, 3, []string{feed.ID, housing.ID}},
			{"qz-gov", map[string]string{"rule": "wage_arrears"}, 1, []string{housing.ID}},
			{"mj-gov", nil, 1, []string{water.ID}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.dept, tt.q, tt.limit), func(t *testing.T) {
				var got []string
				cursor := ""
				for pages := 0; ; pages++ {
					if pages > len(tt.want)+1 {
						t.Fatalf("more than %d pages: %v", pages, got)
					}
					q := map[string]string{"limit": fmt.Sprint(tt.limit)}
					for k, v := range tt.q {
						q[k] = v
					}
					if cursor != "" {
						q["cursor"] = cursor
					}
					var l AlertList
					deptCall(t, h, deptRequest("GET", "/v1/alerts", tokens[tt.dept], "", q), http.StatusOK, &l)
					if len(l.Alerts) > tt.limit || l.Count != len(l.Alerts) {
						t.Errorf("page %d: %d alerts (count %d), limit %d", pages, len(l.Alerts), l.Count, tt.limit)
					}
					got = append(got, listIDs(l)...)
					if l.NextCursor == "" {
						break
					}
					cursor = l.NextCursor
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("paged through %v, want %v", got, tt.want)
				}
			})
		}
		var l AlertList
		deptCall(t, h, deptRequest("GET", "/v1/alerts", tokens["qz-housing"], "", map[string]string{"limit": "5"}), http.StatusOK, &l)
		if l.NextCursor != "" {
			t.Errorf("a list shorter than its limit has next_cursor %q", l.NextCursor)
		}

		// A budget of one index page: a filter that the first entry fails
		// ends the request after that page, short and with a cursor.
		short := NewDeptAPI(ls.deps(t, "dept-api"))
		short.MaxExamined = 1
		deptCall(t, short, deptRequest("GET", "/v1/alerts", tokens["qz-housing"], "", map[string]string{"limit": "1", "rule": "wage_arrears"}), http.StatusOK, &l)
		if len(l.Alerts) != 0 || l.NextCursor == "" {
			t.Fatalf("budget 1: %v, cursor %q; want no alert and a cursor", listIDs(l), l.NextCursor)
		}
		deptCall(t, short, deptRequest("GET", "/v1/alerts", tokens["qz-housing"], "", map[string]string{"limit": "1", "rule": "wage_arrears", "cursor": l.NextCursor}), http.StatusOK, &l)
		if got := listIDs(l); !reflect.DeepEqual(got, []string{housing.ID}) {
			t.Errorf("budget 1, second request: %v, want %v", got, []string{housing.ID})
		}

		var e deptErrorBody
		for _, q := range []map[string]string{{"limit": "0"}, {"limit": "501"}, {"cursor": "not-a-cursor"}} {
			deptCall(t, h, deptRequest("GET", "/v1/alerts", tokens["qz-housing"], "", q), http.StatusBadRequest, &e)
			if e.Error != alert.EInvalid {
				t.Errorf("%v: %+v", q, e)
			}
		}
	})

	t.Run("one alert", func(t *testing.T) {
		var d AlertDetail
		deptCall(t, h, deptRequest("GET", "/v1/alerts/"+housing.ID, tokens["qz-housing"], "", nil), http.StatusOK, &d)
		if d.ID != housing.ID || d.ProjectName != escHousing.Name || len(d.Timeline) != 1 || d.Timeline[0].Kind != alert.EventOpened {
			t.Errorf("detail %+v", d)
		}
		if len(d.Deliveries) != 1 || d.Deliveries[0].DeptID != "qz-gov" || d.Deliveries[0].Status != "delivered" || d.Deliveries[0].LatencyMS != 40 {
			t.Errorf("deliveries %+v, want the one recorded", d.Deliveries)
		}
	})

	t.Run("another department's alert answers 404 like an unknown one", func(t *testing.T) {
		unknown := escWater.ID + ":wage_arrears:9"
		for _, tc := range []struct{ method, suffix, body string }{
			{"GET", "", ""},
			{"POST", "/ack", `{"note":"试图确认"}`},
			{"POST", "/resolve", `{"note":"试图办结"}`},
		} {
			for _, dept := range []string{"qz-housing", "qz-gov", "city-gov"} {
				t.Run(tc.method+tc.suffix+" by "+dept, func(t *testing.T) {
					denied := deptCall(t, h, deptRequest(tc.method, "/v1/alerts/"+water.ID+tc.suffix, tokens[dept], tc.body, nil), http.StatusNotFound, nil)
					absent := deptCall(t, h, deptRequest(tc.method, "/v1/alerts/"+unknown+tc.suffix, tokens[dept], tc.body, nil), http.StatusNotFound, nil)
					if want := strings.ReplaceAll(absent, unknown, water.ID); denied != want {
						t.Errorf("denied answer %s differs from an unknown alert's %s", denied, absent)
					}
				})
			}
		}
		deptCall(t, h, deptRequest("GET", "/v1/alerts/not-an-id", tokens["qz-gov"], "", nil), http.StatusNotFound, nil)
		stored, err := ls.store.Alert(ctx, water.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Status != alert.Open || stored.Version != 1 || len(stored.Timeline) != 1 {
			t.Errorf("the other department's alert changed: status %s version %d timeline %+v", stored.Status, stored.Version, stored.Timeline)
		}
	})

	t.Run("acknowledge", func(t *testing.T) {
		ls.clock.t = escT0.Add(3 * time.Hour)
		var e deptErrorBody
		deptCall(t, h, deptRequest("POST", "/v1/alerts/"+housing.ID+"/ack", tokens["qz-housing"], `{"note":"  "}`, nil), http.StatusBadRequest, &e)
		if e.Error != alert.EInvalid {
			t.Errorf("empty note: %+v", e)
		}
		var d AlertDetail
		deptCall(t, h, deptRequest("POST", "/v1/alerts/"+housing.ID+"/ack", tokens["qz-housing"], `{"note":"已约谈总包单位"}`, nil), http.StatusOK, &d)
		last := d.Timeline[len(d.Timeline)-1]
		if d.Status != "acknowledged" || d.Version != 2 || last.Kind != alert.EventAcknowledged || last.Actor != "qz-housing" ||
			last.Note != "已约谈总包单位" || !last.At.Equal(ls.clock.t) {
			t.Errorf("acknowledged: status %s version %d last event %+v", d.Status, d.Version, last)
		}
		stored, err := ls.store.Alert(ctx, housing.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Status != alert.Acknowledged || stored.AcknowledgedAt == nil || !stored.AcknowledgedAt.Equal(ls.clock.t) {
			t.Errorf("stored: %s at %v", stored.Status, stored.AcknowledgedAt)
		}
		deptCall(t, h, deptRequest("POST", "/v1/alerts/"+housing.ID+"/ack", tokens["qz-gov"], `{"note":"也确认"}`, nil), http.StatusConflict, &e)
		if e.Error != alert.EConflict {
			t.Errorf("second acknowledgement: %+v", e)
		}
		// Acknowledging stops escalation.
		ls.clock.t = escT0.Add(60 * time.Hour)
		res, err := NewEscalate(ls.deps(t, "escalate")).Handle(ctx, EscalateInput{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Escalated != 2 { // water and feed, not housing
			t.Errorf("escalation after the acknowledgement: %+v, want the 2 unacknowledged alerts", res)
		}
		if a, err := ls.store.Alert(ctx, housing.ID); err != nil || a.Escalated {
			t.Errorf("the acknowledged alert was escalated (%v)", err)
		}
		ls.notified(t)
	})

	t.Run("escalated alerts reach the city's API", func(t *testing.T) {
		var l AlertList
		deptCall(t, h, deptRequest("GET", "/v1/alerts", tokens["city-gov"], "", nil), http.StatusOK, &l)
		if got, want := listIDs(l), []string{feed.ID, water.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("city-gov's alerts %v, want %v", got, want)
		}
		var d AlertDetail
		deptCall(t, h, deptRequest("POST", "/v1/alerts/"+water.ID+"/ack", tokens["city-gov"], `{"note":"市治欠办督办"}`, nil), http.StatusOK, &d)
		if d.Status != "acknowledged" || d.Timeline[len(d.Timeline)-1].Actor != "city-gov" {
			t.Errorf("city acknowledgement: %+v", d)
		}
	})

	t.Run("resolve", func(t *testing.T) {
		h := NewDeptAPI(ls.deps(t, "dept-api"))
		h.Notify = queue.NewSender(ls.sqs, ls.res.Queues["NotifyQueue"].URL)
		ls.clock.t = escT0.Add(72 * time.Hour)
		var d AlertDetail
		deptCall(t, h, deptRequest("POST", "/v1/alerts/"+housing.ID+"/resolve", tokens["qz-gov"], `{"note":"结果回访：工资已足额支付"}`, nil), http.StatusOK, &d)
		last := d.Timeline[len(d.Timeline)-1]
		if d.Status != "resolved" || d.Resolution != alert.ResolutionManual || last.Actor != "qz-gov" || !last.At.Equal(ls.clock.t) {
			t.Errorf("resolved: %+v", d.AlertSummary)
		}
		current, err := ls.store.CurrentAlerts(ctx, escHousing.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range current {
			if a.ID == housing.ID {
				t.Errorf("the resolved alert is still current: its head was not closed")
			}
		}
		sent := ls.notified(t)
		if len(sent) != 1 || sent[0].Recipient.DeptID != "qz-housing" || sent[0].Change != notify.ChangeResolved ||
			sent[0].ID != notify.DeliveryID(housing.ID, len(d.Timeline), "qz-housing") {
			t.Errorf("resolution deliveries %+v, want one to the other recipient", sent)
		}
		var e deptErrorBody
		deptCall(t, h, deptRequest("POST", "/v1/alerts/"+housing.ID+"/resolve", tokens["qz-housing"], `{"note":"再办结"}`, nil), http.StatusConflict, &e)
		deptCall(t, h, deptRequest("POST", "/v1/alerts/"+housing.ID+"/ack", tokens["qz-housing"], `{"note":"再确认"}`, nil), http.StatusConflict, &e)
		var l AlertList
		deptCall(t, h, deptRequest("GET", "/v1/alerts", tokens["qz-housing"], "", map[string]string{"status": "resolved"}), http.StatusOK, &l)
		if got := listIDs(l); !reflect.DeepEqual(got, []string{housing.ID}) {
			t.Errorf("resolved alerts %v, want %v", got, []string{housing.ID})
		}
	})

	t.Run("a revoked token is refused at once, the others still work", func(t *testing.T) {
		revoked, err := ls.store.RevokeDeptToken(ctx, "mj-gov", store.TokenID(tokens["mj-gov"]))
		if err != nil || len(revoked) != 1 {
			t.Fatalf("revoke: %v, %v", revoked, err)
		}
		var e deptErrorBody
		deptCall(t, h, deptRequest("GET", "/v1/alerts", tokens["mj-gov"], "", nil), http.StatusUnauthorized, &e)
		if e.Error != eUnauthorized || e.Message != "unknown or revoked token" {
			t.Errorf("revoked token: %+v", e)
		}
		deptCall(t, h, deptRequest("POST", "/v1/alerts/"+water.ID+"/ack", tokens["mj-gov"], `{"note":"x"}`, nil), http.StatusUnauthorized, nil)
		var l AlertList
		deptCall(t, h, deptRequest("GET", "/v1/alerts", tokens["qz-gov"], "", nil), http.StatusOK, &l)
		if got, want := listIDs(l), []string{feed.ID, housing.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("qz-gov's alerts after mj-gov's revocation %v, want %v", got, want)
		}
	})
}
