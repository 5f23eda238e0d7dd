// Package route decides who receives a project's alert (双交双办, rules.md
// "Routing and escalation"). Routing is data, in the manner of Alertmanager's
// route tree: Build turns the departments of departments.csv into a tree of
// nodes that match on an alert's labels (county, sector, severity, escalated)
// and name receivers (department ids). The package is pure: departments in,
// recipients out.
package route

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/wagewatch/wagewatch/shared/registry"
)

// The labels a node can match on.
const (
	LabelCounty    = "county"
	LabelSector    = "sector"
	LabelSeverity  = "severity"
	LabelEscalated = "escalated"
)

// Matcher requires label Name to equal Value.
type Matcher struct {
	Name  string
	Value string
}

func (m Matcher) matches(labels map[string]string) bool {
	return labels[m.Name] == m.Value
}

// String prints name="value".
func (m Matcher) String() string { return fmt.Sprintf("%s=%q", m.Name, m.Value) }

// Node is one route of the tree. A node matches labels when all its matchers
// do. A matching node with children hands the labels to its children in
// order; the first child that matches ends the search among its siblings
// unless that child has Continue set. A matching node none of whose children
// matches is itself a match, and its Receivers receive the alert.
type Node struct {
	Name      string
	Matchers  []Matcher
	Receivers []string
	Continue  bool
	Routes    []*Node
}

func (n *Node) matches(labels map[string]string) bool {
	for _, m := range n.Matchers {
		if !m.matches(labels) {
			return false
		}
	}
	return true
}

// Match returns the nodes that the labels end at, in tree order.
func (n *Node) Match(labels map[string]string) []*Node {
	if !n.matches(labels) {
		return nil
	}
	var all []*Node
	for _, c := range n.Routes {
		got := c.Match(labels)
		all = append(all, got...)
		if len(got) > 0 && !c.Continue {
			break
		}
	}
	if len(all) == 0 {
		all = []*Node{n}
	}
	return all
}

// Tree is the routing tree built from a set of departments.
type Tree struct {
	root  *Node
	depts map[string]registry.Department
}

// projectSectors are the sectors a project may have (data.md); a tree has a
// route for each, and for any other non-gov sector a department names.
var projectSectors = []registry.Sector{
	registry.Housing, registry.Transport, registry.Water, registry.SOE, registry.OtherSec,
}

// Build makes the routing tree of the departments. A department id seen twice
// keeps its last row (as the registry keeps the last valid row). The tree is:
//
//   - {severity="red"} (continue) and {escalated="true"} (continue): for each
//     sector S, the city-level departments of sector S or gov;
//   - for each county with county-level departments, {county=C}: for each
//     sector S, the county's departments of sector S or gov, and when the
//     county has none of sector S, the city-level departments of sector S
//     with the county's gov departments; any other sector reaches the
//     county's gov departments only;
//   - a last catch-all for counties without departments: for each sector S,
//     the city-level departments of sector S.
func Build(depts []registry.Department) *Tree {
	byID := make(map[string]registry.Department, len(depts))
	order := make([]string, 0, len(depts))
	for _, d := range depts {
		if _, seen := byID[d.ID]; !seen {
			order = append(order, d.ID)
		}
		byID[d.ID] = d
	}

	sectorSet := map[registry.Sector]bool{}
	for _, s := range projectSectors {
		sectorSet[s] = true
	}
	city := map[registry.Sector][]string{}
	county := map[string]map[registry.Sector][]string{}
	for _, id := range order {
		d := byID[id]
		if d.Sector != registry.Gov {
			sectorSet[d.Sector] = true
		}
		switch d.Level {
		case registry.City:
			city[d.Sector] = append(city[d.Sector], d.ID)
		case registry.County:
			if county[d.CountyCode] == nil {
				county[d.CountyCode] = map[registry.Sector][]string{}
			}
			county[d.CountyCode][d.Sector] = append(county[d.CountyCode][d.Sector], d.ID)
		}
	}
	sectors := make([]registry.Sector, 0, len(sectorSet))
	for s := range sectorSet {
		sectors = append(sectors, s)
	}
	slices.Sort(sectors)

	escalation := func(name string, m Matcher) *Node {
		n := &Node{Name: name, Matchers: []Matcher{m}, Receivers: ids(city[registry.Gov]), Continue: true}
		for _, s := range sectors {
			n.Routes = append(n.Routes, &Node{
				Name:      name + "/" + string(s),
				Matchers:  []Matcher{{LabelSector, string(s)}},
				Receivers: ids(city[s], city[registry.Gov]),
			})
		}
		return n
	}

	root := &Node{Name: "root"}
	root.Routes = append(root.Routes,
		escalation("red", Matcher{LabelSeverity, "red"}),
		escalation("escalated", Matcher{LabelEscalated, "true"}),
	)

	codes := make([]string, 0, len(county))
	for c := range county {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		own := county[c]
		n := &Node{Name: "county " + c, Matchers: []Matcher{{LabelCounty, c}}, Receivers: ids(own[registry.Gov])}
		for _, s := range sectors {
			sectorDepts := own[s]
			if len(sectorDepts) == 0 {
				sectorDepts = city[s]
			}
			n.Routes = append(n.Routes, &Node{
				Name:      "county " + c + "/" + string(s),
				Matchers:  []Matcher{{LabelSector, string(s)}},
				Receivers: ids(sectorDepts, own[registry.Gov]),
			})
		}
		root.Routes = append(root.Routes, n)
	}

	other := &Node{Name: "other counties"}
	for _, s := range sectors {
		other.Routes = append(other.Routes, &Node{
			Name:      "other counties/" + string(s),
			Matchers:  []Matcher{{LabelSector, string(s)}},
			Receivers: ids(city[s]),
		})
	}
	root.Routes = append(root.Routes, other)
	return &Tree{root: root, depts: byID}
}

// ids returns the sorted, distinct ids of the lists.
func ids(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Labels returns the labels the tree matches an alert with.
func Labels(county string, sector registry.Sector, severity string, escalated bool) map[string]string {
	return map[string]string{
		LabelCounty:    county,
		LabelSector:    string(sector),
		LabelSeverity:  severity,
		LabelEscalated: fmt.Sprint(escalated),
	}
}

// Recipients returns the sorted, distinct ids of the departments that receive
// an alert of a project in county with sector, of the given severity; escalated
// reports that no recipient acknowledged the alert in time.
func (t *Tree) Recipients(county string, sector registry.Sector, severity string, escalated bool) []string {
	var all []string
	for _, n := range t.root.Match(Labels(county, sector, severity, escalated)) {
		all = append(all, n.Receivers...)
	}
	return ids(all)
}

// Department returns the department with the id.
func (t *Tree) Department(id string) (registry.Department, bool) {
	d, ok := t.depts[id]
	return d, ok
}

// Root returns the tree's root node, for walking or display.
func (t *Tree) Root() *Node { return t.root }

// String prints the tree, one node a line, indented by depth:
//
//	root
//	  red {severity="red"} continue → [city-gov]
func (t *Tree) String() string {
	var b strings.Builder
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(n.Name)
		if len(n.Matchers) > 0 {
			ms := make([]string, len(n.Matchers))
			for i, m := range n.Matchers {
				ms[i] = m.String()
			}
			b.WriteString(" {" + strings.Join(ms, ", ") + "}")
		}
		if n.Continue {
			b.WriteString(" continue")
		}
		b.WriteString(" → [" + strings.Join(n.Receivers, " ") + "]\n")
		for _, c := range n.Routes {
			walk(c, depth+1)
		}
	}
	walk(t.root, 0)
	return b.String()
}
