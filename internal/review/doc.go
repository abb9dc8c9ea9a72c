// Package review is the pure core of Terraform plan review: plans in,
// summary, verdict, markdown and JSON out; no network, no GitHub, no logs.
//
//	p, err := review.ReadPlan(f, "plan.json")    // terraform/tofu show -json, streamed; errors are *PlanError
//	p.Workspace, p.Dir = "prod", "infra/prod"     // set by the caller: not in the JSON
//	s := review.Summarize([]*review.Plan{p}, cfg) // counts + risky changes under cfg (Config, yaml "review:")
//	v := review.Evaluate(s, cfg, facts)           // ApprovalFacts (reviews, head, pushers) -> Verdict
//	body := review.RenderComment(s, v, meta, review.CommentLimit)
//	title, summary, text := review.RenderCheck(s, v, meta) // check run "tasuki/plan-review", Conclusion(v)
//	js, _ := review.RenderJSON(s, v)              // CLI --format json
//
// The App re-evaluates a pull request on review events without the plan:
// RenderComment ends with a hidden plan-facts block (EncodeFacts of
// FactsOf(s, plannedSHA)) that DecodeFacts reads back and Facts.Summary
// turns into the Summary Evaluate needs. The comment opens with the verdict
// section, between VerdictBegin and VerdictEnd lines, which the App swaps
// for the new verdict without the plan:
//
//	f, _, err := review.DecodeFacts(body)
//	v := review.Evaluate(f.Summary(), cfg, facts)
//	body, ok := review.ReplaceVerdict(body, review.RenderVerdict(f, v, headSHA))
//
// RenderVerdict gives the very section RenderComment wrote for the same
// facts and verdict (so an unchanged verdict is an unchanged comment), at
// most MaxVerdictBytes, for which RenderComment leaves room under its limit.
//
// Reading: the top level is walked byte-wise (prior_state, planned_values,
// configuration and variables are validated as JSON and otherwise skipped;
// anything json.Valid refuses is refused), each resource change is
// captured alone and only the fields tasuki needs are decoded, so memory
// depends on the largest change, not on the plan. Attribute diffs are kept
// up to AttrsPerChange per change and AttrBudget per plan. What stays is a
// Change per resource change, unless a ReadOptions.Keep filter picks
// fewer: CommentKeep for the comment and check run (every destroy up to
// KeptDestroys, the listed others up to KeptOthers, the rest counted in
// Plan.Unkept and Plan.UnkeptListed, which the renderer's counts include),
// RiskSample for the JSON output; either way memory stays flat.
//
// Secrets: values Terraform marks sensitive (before_sensitive and
// after_sensitive at any depth, whole-value true, sensitive outputs) are
// replaced by "(sensitive)" while reading, and so is any other copy of a
// marked string in the same plan (Terraform drops marks in places, e.g.
// terraform_data's output). Variables are never read. No sensitive value is
// held in a Plan, so none can reach any output or error.
//
// Markdown: everything taken from a plan or a pull request goes through
// internal/mdtext, and values stay one line each inside ```diff blocks
// fenced longer than any backtick run in them. With every block
// collapsed, the comment shows the verdict, the counts per plan and every
// destroy and replace (each with its diff, or what identifies a deleted
// object, in its own block); the other changes follow in one block per
// module, each address once. When the comment does not fit its limit it
// degrades: creates' attributes go first, then every other attribute but
// destroys', then the addresses of changes that destroy nothing become
// counts per module and type, then destroys' diffs (kept for as many as
// fit), then destroy/replace addresses are listed compactly (count
// instances of one resource collapse into `addr[0..199]`); every destroy
// and replace address is kept while they alone fit, and the comment counts
// what it left out and says where the full text is (Meta.JobSummaryURL,
// Meta.ArtifactName). The check run's text then carries as many attribute
// changes as fit.
package review
