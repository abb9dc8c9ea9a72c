package review

import (
	"fmt"

	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

// NoChangeTitle is the check run title for a pull request that changes no
// Terraform: the required check is green and says why.
const NoChangeTitle = "No Terraform change in this pull request"

// NoChange completes p (PR, Marker, HeadSHA, ExternalID and CommentURL
// set) as the publication for a pull request that changes no Terraform at
// p.HeadSHA (the workflow found no Terraform file changed): a successful
// check, and, when the pull request still has a plan review comment from an
// earlier push (hasComment), that comment rewritten to say the same, with
// facts of no change, so that review events keep the check green instead
// of re-evaluating a plan the pull request no longer makes.
func NoChange(p Publication, hasComment bool) Publication {
	p.Conclusion = "success"
	p.Title = NoChangeTitle
	p.Summary = fmt.Sprintf("tasuki found no Terraform change in this pull request at %s, so there is no plan to review.", mdtext.Code(shortSHA(p.HeadSHA)))
	p.Body, p.Text = "", ""
	if hasComment {
		f := Facts{V: FactsVersion, PlannedSHA: p.HeadSHA}
		v := Evaluate(f.Summary(), DefaultConfig(), ApprovalFacts{HeadSHA: p.HeadSHA, PlannedSHA: p.HeadSHA})
		p.Body = RenderVerdict(f, v, p.HeadSHA) + "\n" + p.Summary + "\n\n" + EncodeFacts(f)
	}
	return p
}
