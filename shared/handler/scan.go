package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/wagewatch/wagewatch/shared/queue"
	"github.com/wagewatch/wagewatch/shared/registry"
)

// projectFinder finds the projects the daily scan evaluates, through
// queries.
type projectFinder interface {
	ProjectsByStatus(ctx context.Context, status registry.Status) ([]string, error)
	ProjectsWithOpenAlerts(ctx context.Context) ([]string, error)
}

// ScanInput is the scheduler's payload. AsOf, when set, is the moment of
// evaluation (a scenario run, a replay); otherwise it is the invocation's
// moment.
type ScanInput struct {
	AsOf time.Time `json:"as_of,omitzero"`
}

// ScanResult says what the scan did.
type ScanResult struct {
	AsOf     time.Time `json:"as_of"`
	Projects int       `json:"projects"`
}

// Scan is the scan function: find the projects to evaluate and send one
// evaluate message per project. rules.md evaluates wage_arrears,
// labor_cost_short, payment_returned and payee_not_enrolled for every
// project, completed ones included (wages stay owed after the work ends),
// so the scan takes active, suspended and completed projects, each through
// the sharded status index, and any project with an open alert.
type Scan struct {
	Projects projectFinder
	Evaluate sender
	Now      func() time.Time
	Log      *slog.Logger
}

// Handle runs one scan.
func (h *Scan) Handle(ctx context.Context, in ScanInput) (ScanResult, error) {
	log := logger(ctx, h.Log)
	asOf := in.AsOf
	if asOf.IsZero() {
		asOf = h.Now()
	}
	set := map[string]bool{}
	for _, st := range []registry.Status{registry.Active, registry.Suspended, registry.Completed} {
		ids, err := h.Projects.ProjectsByStatus(ctx, st)
		if err != nil {
			return ScanResult{}, err
		}
		for _, id := range ids {
			set[id] = true
		}
	}
	open, err := h.Projects.ProjectsWithOpenAlerts(ctx)
	if err != nil {
		return ScanResult{}, err
	}
	for _, id := range open {
		set[id] = true
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	msgs := make([]queue.Message, 0, len(ids))
	for _, id := range ids {
		body, _ := json.Marshal(EvaluateMessage{ProjectID: id, AsOf: asOf, Reason: "scan"})
		msgs = append(msgs, queue.Message{Body: string(body)})
	}
	if err := h.Evaluate.Send(ctx, msgs); err != nil {
		return ScanResult{}, fmt.Errorf("scan as of %s: %w", asOf.Format(time.RFC3339), err)
	}
	log.InfoContext(ctx, "scan sent evaluations", "as_of", asOf.Format(time.RFC3339), "projects", len(ids))
	return ScanResult{AsOf: asOf, Projects: len(ids)}, nil
}
