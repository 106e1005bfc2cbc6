package main

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/policy"
)

// jsonSchemaVersion changes only when a field changes meaning or goes
// away; fields may be added without changing it.
const jsonSchemaVersion = 1

// jsonReport is what apply --json prints: one document on standard
// output. README.md ("apply --json") documents it; keep the two in step.
type jsonReport struct {
	SchemaVersion int    `json:"schema_version"`
	Backend       string `json:"backend"`
	// Reason says why the backend was chosen: "as asked" or what
	// detection found.
	Reason string `json:"reason"`
	DryRun bool   `json:"dry_run"`
	// Changed: something was written (a dry run: would be).
	Changed  bool         `json:"changed"`
	Families []jsonFamily `json:"families"`
	// Error is the error hostwall exits 1 with, "" on success.
	Error string `json:"error,omitempty"`
}

type jsonFamily struct {
	Family    string         `json:"family"` // "ipv4" or "ipv6"
	File      string         `json:"file"`
	Tables    []jsonTable    `json:"tables"`
	Unmanaged []jsonFileLine `json:"unmanaged"`
}

type jsonTable struct {
	Table string `json:"table"`
	// Changed: the plan changes the kernel; Written: it was written.
	Changed       bool     `json:"changed"`
	Written       bool     `json:"written"`
	RulesAdded    int      `json:"rules_added"`
	RulesRemoved  int      `json:"rules_removed"`
	HooksInserted []string `json:"hooks_inserted"`
	HooksRemoved  []string `json:"hooks_removed"`
	ChainsCreated []string `json:"chains_created"`
	CountersKept  int      `json:"counters_kept"`
	// Attempts counts plans: more than one means another writer got in.
	Attempts int      `json:"attempts"`
	Diff     []string `json:"diff"`
}

type jsonFileLine struct {
	Pos  string `json:"pos"` // file:line:column
	Text string `json:"text"`
}

func newJSONReport(dryRun bool) *jsonReport {
	return &jsonReport{SchemaVersion: jsonSchemaVersion, DryRun: dryRun, Families: []jsonFamily{}}
}

// setHost records the backend and why it was chosen.
func (j *jsonReport) setHost(h *engine.Host) {
	j.Backend = string(h.Backend)
	j.Reason = "as asked"
	if h.Detection != nil {
		j.Reason = h.Detection.Reason
	}
}

// fill records the files and what the apply did.
func (j *jsonReport) fill(ds []*policy.Desired, reps []*engine.Report) {
	for _, d := range ds {
		jf := jsonFamily{Family: strings.ToLower(d.Family.String()), File: d.File, Tables: []jsonTable{}, Unmanaged: []jsonFileLine{}}
		for _, u := range d.Unmanaged {
			jf.Unmanaged = append(jf.Unmanaged, jsonFileLine{u.Pos.String(), u.Text})
		}
		for _, rep := range reps {
			if rep.Family != d.Family {
				continue
			}
			for _, tr := range rep.Tables {
				p := tr.Plan
				jt := jsonTable{
					Table:         tr.Table,
					Changed:       p.Changed(),
					Written:       tr.Written,
					RulesAdded:    p.Added,
					RulesRemoved:  p.Removed,
					HooksInserted: orEmpty(p.HooksInserted),
					HooksRemoved:  orEmpty(p.HooksRemoved),
					ChainsCreated: orEmpty(p.ChainsCreated),
					CountersKept:  tr.CountersKept,
					Attempts:      tr.Attempts,
					Diff:          orEmpty(p.Diff),
				}
				j.Changed = j.Changed || tr.Written || j.DryRun && jt.Changed
				jf.Tables = append(jf.Tables, jt)
			}
		}
		j.Families = append(j.Families, jf)
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// write prints the document, indented, with a final newline.
func (j *jsonReport) write(w io.Writer) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(j)
}
