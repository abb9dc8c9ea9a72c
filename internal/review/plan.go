package review

import "fmt"

// Action is what a plan does to one resource instance. Replace covers both
// orders (see Change.ReplaceOrder).
type Action string

// Actions as they appear in Change.Action.
const (
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"
	ActionDelete  Action = "delete"
	ActionReplace Action = "replace"
	ActionRead    Action = "read"
	ActionNoOp    Action = "no-op"
	ActionForget  Action = "forget"
)

// Replace orders as they appear in Change.ReplaceOrder.
const (
	DeleteThenCreate = "delete-then-create"
	CreateThenDelete = "create-then-delete"
)

// Markers that stand in for values in AttrDiff, OutputChange and rendered
// output.
const (
	Sensitive = "(sensitive)"
	Unknown   = "(known after apply)"
)

// Plan is what tasuki keeps of one `terraform show -json` document: enough
// for the summary, never a sensitive value.
type Plan struct {
	Source    string `json:"source"`    // file name or other label, used in errors and output
	Workspace string `json:"workspace"` // set by the caller; not part of the JSON
	Dir       string `json:"dir"`       // Terraform working directory, set by the caller
	// Name labels the plan in place of Dir when Dir does not tell it from
	// the others (several plan files in one directory); set by the caller.
	Name             string `json:"name,omitempty"`
	TerraformVersion string `json:"terraform_version"`
	FormatVersion    string `json:"format_version"`
	// Encoding names what the file was converted from: "UTF-16LE",
	// "UTF-16BE" or "gzip"; empty for plain UTF-8.
	Encoding string `json:"encoding,omitempty"`
	// Errored is true when Terraform stopped planning on an error: the
	// changes listed are incomplete and the plan must not be trusted.
	Errored bool `json:"errored"`
	// Complete is false when Terraform says more changes will follow this
	// plan's apply (deferred changes).
	Complete bool `json:"complete"`
	// Applyable is false when Terraform would refuse to apply the plan.
	Applyable bool `json:"applyable"`
	// Changes are the resource changes in file order: all of them, unless
	// the plan was read with a ReadOptions.Keep filter (then Unkept counts
	// the others).
	Changes []Change `json:"changes"`
	// Unkept counts the resource changes a ReadOptions.Keep filter left
	// out of Changes; nil when none was. Counts includes them.
	Unkept *Counts `json:"unkept,omitempty"`
	// UnkeptListed counts, per module and resource type, the changes of
	// Unkept that the comment would list among the changes that destroy
	// nothing (not destroys, not no-ops that neither move nor import), so
	// that its counts per module and type stay true; nil when none was.
	UnkeptListed map[ModuleType]Counts `json:"-"`
	// Drift are resources changed outside Terraform.
	Drift []Change `json:"drift"`
	// Deferred are changes Terraform postponed to a later plan.
	Deferred []Change `json:"deferred"`
	// Outputs are the root module outputs, sorted by name.
	Outputs []OutputChange `json:"outputs"`
	// Checks are the failed or errored check results (passing and unknown
	// ones are counted only).
	Checks []CheckResult `json:"checks"`
	// ChecksPassed counts passing check instances.
	ChecksPassed int `json:"checks_passed"`
	// ActionInvocations counts Terraform 1.14 action invocations.
	ActionInvocations int `json:"action_invocations"`
	// AttrsOmitted counts attribute diffs dropped past AttrsPerChange.
	AttrsOmitted int `json:"attrs_omitted"`
	// ChangesWithoutAttrs counts changes whose attribute diffs were not
	// read because the plan's AttrBudget was used up (big plans).
	ChangesWithoutAttrs int `json:"changes_without_attrs"`
}

// Change is one resource instance change, sensitive values already masked.
type Change struct {
	Address     string `json:"address"`
	PrevAddress string `json:"previous_address,omitempty"` // set when moved
	Module      string `json:"module,omitempty"`           // "" for the root module
	Type        string `json:"type"`
	Name        string `json:"name"`
	Mode        string `json:"mode"` // "managed" or "data"
	Deposed     string `json:"deposed,omitempty"`
	Action      Action `json:"action"`
	// ReplaceOrder is DeleteThenCreate or CreateThenDelete for replaces.
	ReplaceOrder string `json:"replace_order,omitempty"`
	// Reason is Terraform's action_reason, e.g. replace_because_tainted,
	// or for deferred changes the deferral reason.
	Reason string `json:"reason,omitempty"`
	// ReplacePaths are the attribute paths that force replacement,
	// rendered like `tags["Name"]`; a map key inside a sensitive value is
	// masked.
	ReplacePaths []string `json:"replace_paths,omitempty"`
	Importing    bool     `json:"importing,omitempty"`
	ImportID     string   `json:"import_id,omitempty"`
	// Attrs are the changed attributes (all attributes for a create), in
	// path order, at most AttrsPerChange of them.
	Attrs []AttrDiff `json:"attrs,omitempty"`
	// AttrsOmitted counts changed attributes not kept in Attrs.
	AttrsOmitted int `json:"attrs_omitted,omitempty"`
}

// ModuleType is a module address ("" for the root module) and a resource
// type: the key of Plan.UnkeptListed.
type ModuleType struct{ Module, Type string }

// listed reports whether the comment lists ch among the changes that
// destroy nothing.
func listed(ch *Change) bool {
	return !isDestroy(ch) && (ch.Action != ActionNoOp || ch.Moved() || ch.Importing)
}

// unkeep counts ch, which a ReadOptions.Keep filter left out.
func (p *Plan) unkeep(ch *Change) {
	if p.Unkept == nil {
		p.Unkept = &Counts{}
	}
	p.Unkept.add(*ch)
	if !listed(ch) {
		return
	}
	if p.UnkeptListed == nil {
		p.UnkeptListed = map[ModuleType]Counts{}
	}
	k := ModuleType{ch.Module, ch.Type}
	c := p.UnkeptListed[k]
	c.add(*ch)
	p.UnkeptListed[k] = c
}

// unkeptDestroys counts the destroys and replaces left out of Changes.
func (p *Plan) unkeptDestroys() int {
	if p.Unkept == nil {
		return 0
	}
	return p.Unkept.Delete + p.Unkept.Replace
}

// Moved reports whether the change moves the resource to a new address.
func (c Change) Moved() bool { return c.PrevAddress != "" && c.PrevAddress != c.Address }

// AttrDiff is one changed leaf attribute. Before and After are rendered:
// JSON-like values (`"text"`, `42`, `true`, `null`, `[]`, `{}`),
// Sensitive or Unknown.
type AttrDiff struct {
	Path      string `json:"path"`
	Before    string `json:"before"`
	After     string `json:"after"`
	Sensitive bool   `json:"sensitive,omitempty"`
	Unknown   bool   `json:"unknown,omitempty"`
}

// OutputChange is one root module output.
type OutputChange struct {
	Name      string `json:"name"`
	Action    Action `json:"action"`
	Before    string `json:"before"`
	After     string `json:"after"`
	Sensitive bool   `json:"sensitive,omitempty"`
	Unknown   bool   `json:"unknown,omitempty"`
}

// CheckResult is one failed or errored check (a condition, a check block, an
// output precondition).
type CheckResult struct {
	Address  string   `json:"address"`
	Kind     string   `json:"kind"`
	Status   string   `json:"status"` // "fail" or "error"
	Problems []string `json:"problems,omitempty"`
}

// Counts counts resource changes. Every change is counted in exactly one of
// Create, Update, Delete, Replace, Read, NoOp, Forget; Import and Move count
// imports and moves on top of that, and Deferred counts deferred changes
// (not in the other fields).
type Counts struct {
	Create   int `json:"create"`
	Update   int `json:"update"`
	Delete   int `json:"delete"`
	Replace  int `json:"replace"`
	Read     int `json:"read"`
	NoOp     int `json:"no_op"`
	Import   int `json:"import"`
	Move     int `json:"move"`
	Forget   int `json:"forget"`
	Deferred int `json:"deferred,omitempty"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Create += o.Create
	c.Update += o.Update
	c.Delete += o.Delete
	c.Replace += o.Replace
	c.Read += o.Read
	c.NoOp += o.NoOp
	c.Import += o.Import
	c.Move += o.Move
	c.Forget += o.Forget
	c.Deferred += o.Deferred
}

// Changed reports whether anything would change in infrastructure or state
// (reads and no-ops do not count).
func (c Counts) Changed() bool {
	return c.Create+c.Update+c.Delete+c.Replace+c.Import+c.Move+c.Forget > 0
}

func (c *Counts) add(ch Change) {
	switch ch.Action {
	case ActionCreate:
		c.Create++
	case ActionUpdate:
		c.Update++
	case ActionDelete:
		c.Delete++
	case ActionReplace:
		c.Replace++
	case ActionRead:
		c.Read++
	case ActionNoOp:
		c.NoOp++
	case ActionForget:
		c.Forget++
	}
	if ch.Importing {
		c.Import++
	}
	if ch.Moved() {
		c.Move++
	}
}

// Counts counts p's resource changes and deferred changes.
func (p *Plan) Counts() Counts {
	var c Counts
	for i := range p.Changes {
		c.add(p.Changes[i])
	}
	if p.Unkept != nil {
		c.Add(*p.Unkept)
	}
	c.Deferred = len(p.Deferred)
	return c
}

// OutputsChanged counts outputs whose action is not no-op.
func (p *Plan) OutputsChanged() int {
	n := 0
	for _, o := range p.Outputs {
		if o.Action != ActionNoOp {
			n++
		}
	}
	return n
}

// PlanError is a plan that could not be read; its message names the source
// and says what is wrong and, where possible, how to fix it. It never
// quotes content from the file.
type PlanError struct {
	Source string
	Reason string
}

func (e *PlanError) Error() string { return fmt.Sprintf("%s: %s", e.Source, e.Reason) }
