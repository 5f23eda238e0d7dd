package handler

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/store"
)

// registryWriter is what import-registry needs of the store.
type registryWriter interface {
	PutProjects(ctx context.Context, ps []registry.Project) ([]bool, error)
	Project(ctx context.Context, id string) (registry.Project, bool, error)
	PutEnrolments(ctx context.Context, es []registry.Enrolment) ([]bool, error)
	PutDepartment(ctx context.Context, d registry.Department) (bool, error)
}

// ImportRegistry is the import-registry function: projects.csv, workers.csv
// or departments.csv landed under registry/; validate every row and write
// the good ones. The kind of file is told by its header, not its name.
type ImportRegistry struct {
	Bucket   objects
	Files    manifests
	Registry registryWriter
	Reeval   reevaluator
	Hasher   *pii.Hasher
	Now      func() time.Time
	Log      *slog.Logger
}

// Handle handles one batch of S3 notifications.
func (h *ImportRegistry) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return eachObject(ctx, logger(ctx, h.Log), ev, h.importFile), nil
}

// registryKind tells the three registry files apart by their header.
func registryKind(header string) string {
	cols := map[string]bool{}
	for _, c := range strings.Split(strings.TrimPrefix(strings.TrimSpace(header), "\uFEFF"), ",") {
		cols[strings.Trim(strings.TrimSpace(c), `"`)] = true
	}
	switch {
	case cols["dept_id"]:
		return "departments"
	case cols["id_number"]:
		return "workers"
	case cols["payday"] || cols["county_code"] && cols["project_id"]:
		return "projects"
	}
	return ""
}

func (h *ImportRegistry) importFile(ctx context.Context, log *slog.Logger, r events.S3EventRecord) error {
	a, ok, err := arrive(ctx, log, h.Bucket, h.Files, r, h.Now)
	if !ok {
		return err
	}
	key, at, hash, size := a.key, a.at, a.hash, a.size
	body, _, err := h.Bucket.Open(ctx, key)
	if err != nil {
		return err
	}
	defer body.Close()
	br := bufio.NewReaderSize(body, 64*1024)
	head, _ := br.Peek(4096)
	firstLine, _, _ := strings.Cut(string(head), "\n")
	m := store.Manifest{Hash: hash, Key: key, Kind: "registry", Size: size, StartedAt: h.Now()}
	m.Format = registryKind(firstLine)

	rl, err := newRejectLog()
	if err != nil {
		return err
	}
	defer rl.close()
	addRejects := func(errs []registry.RowError) {
		for _, e := range errs {
			rl.add(store.Reject{File: key, Line: e.Line, Reason: e.Error()})
		}
		m.Rejected += len(errs)
	}
	// count counts a written row; a new or changed row of a project
	// (project "" for departments) marks the project for re-evaluation.
	changedProjects := map[string]bool{}
	count := func(changed bool, project string) {
		if !changed {
			m.Duplicates++
			return
		}
		m.Accepted++
		if project != "" {
			changedProjects[project] = true
		}
	}
	switch m.Format {
	case "projects":
		rows, errs, err := registry.ReadProjects(br, key)
		if err != nil {
			addRejects([]registry.RowError{{File: key, Reason: err.Error()}})
			break
		}
		addRejects(errs)
		changed, err := h.Registry.PutProjects(ctx, rows)
		if err != nil {
			return err
		}
		for i, p := range rows {
			count(changed[i], p.ID)
		}
	case "workers":
		rows, errs, err := registry.ReadWorkers(br, key, h.Hasher)
		if err != nil {
			addRejects([]registry.RowError{{File: key, Reason: err.Error()}})
			break
		}
		addRejects(errs)
		known := map[string]bool{}
		var lookupErr error
		rows, errs = registry.CheckEnrolmentProjects(key, rows, func(id string) bool {
			if v, ok := known[id]; ok {
				return v
			}
			_, ok, err := h.Registry.Project(ctx, id)
			if err != nil {
				lookupErr = err
			}
			known[id] = ok
			return ok
		})
		if lookupErr != nil {
			return lookupErr
		}
		addRejects(errs)
		changed, err := h.Registry.PutEnrolments(ctx, rows)
		if err != nil {
			return err
		}
		for i, e := range rows {
			count(changed[i], e.ProjectID)
		}
	case "departments":
		rows, errs, err := registry.ReadDepartments(br, key)
		if err != nil {
			addRejects([]registry.RowError{{File: key, Reason: err.Error()}})
			break
		}
		addRejects(errs)
		for _, d := range rows {
			changed, err := h.Registry.PutDepartment(ctx, d)
			if err != nil {
				return err
			}
			count(changed, "")
		}
	default:
		_, _ = io.Copy(io.Discard, br)
		addRejects([]registry.RowError{{File: key, Line: 1, Reason: "not a registry file: the header names no projects, workers or departments columns"}})
	}
	m.State, m.FinishedAt = "done", h.Now()
	if err := finish(ctx, h.Bucket, h.Files, m, rl, at); err != nil {
		return fmt.Errorf("import %s: %w", key, err)
	}
	log.InfoContext(ctx, "registry file imported", "key", key, "kind", m.Format, "accepted", m.Accepted,
		"rejected", m.Rejected, "unchanged", m.Duplicates)
	if h.Reeval != nil {
		for id := range changedProjects {
			if err := h.Reeval.Reevaluate(ctx, id); err != nil {
				return err
			}
		}
	}
	return nil
}
