package backfill

import (
	"github.com/shurcooL/githubv4"
)

// The queries. Each page of pull requests carries, nested, everything the
// lead-time core needs of those pull requests, so that the whole backfill
// of N pull requests takes about N/100 requests. GitHub's cost of a query
// (https://docs.github.com/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api)
// is the number of requests needed to fill each connection, assuming every
// one fills to its first: argument, divided by 100. For one page of pulls:
//
//	pullRequests(first: 100)                          1
//	  commits(first: 1)                   100 × 1   100
//	  reviews(first: 25)                  100 × 1   100
//	  labels(first: 20)                   100 × 1   100
//	  files(first: 100)                   100 × 1   100
//	  timelineItems(first: 1)             100 × 1   100
//	                                                501 → 5 points
//
// and 100 + 100 + 2,500 + 2,000 + 10,000 + 100 = 14,800 nodes, far below
// GitHub's limit of 500,000 (PullsPageCost computes both). Changed paths
// are one of the five nested connections: one point a page, so they are
// read (the first 100 paths of each pull request; files.totalCount says
// when a pull request has more).
const (
	pullsPerPage   = 100
	reviewsPerPull = 25
	labelsPerPull  = 20
	filesPerPull   = 100
	deploysPerPage = 100
)

// nodeLimit is GitHub's limit on the nodes one query may ask for.
const nodeLimit = 500_000

// PageCost is what one query costs by GitHub's formula.
type PageCost struct {
	Points int // rate limit points
	Nodes  int // nodes asked for, against the 500,000 limit
}

// WithinLimits reports whether GitHub accepts a query of this cost: its
// nodes are within the node limit.
func (c PageCost) WithinLimits() bool { return c.Nodes <= nodeLimit }

// PullsPageCost is the cost of one page of n pull requests with what
// is nested in it.
func PullsPageCost(n int) PageCost {
	requests := 1 + 5*n
	nodes := n + n*(1+reviewsPerPull+labelsPerPull+filesPerPull+1)
	return PageCost{Points: max(1, (requests+50)/100), Nodes: nodes}
}

type pageInfo struct {
	HasNextPage bool
	EndCursor   githubv4.String
}

type rateLimit struct {
	Cost      int
	Remaining int
	ResetAt   githubv4.DateTime
}

// actor is an Actor interface value: a User, a Bot, a Mannequin...
// __typename tells bots apart (their logins end in "[bot]" on REST only).
type actor struct {
	Typename string `graphql:"__typename"`
	Login    string
}

type pullNode struct {
	Number      int
	Title       string
	CreatedAt   githubv4.DateTime
	UpdatedAt   githubv4.DateTime
	MergedAt    *githubv4.DateTime
	ClosedAt    *githubv4.DateTime
	IsDraft     bool
	BaseRefName string
	HeadRefName string
	Author      *actor // null once the account is deleted ("ghost")
	MergeCommit *struct {
		Oid string
	}
	// The PR's commits come oldest first, in the order they were made on
	// the branch; the first one's authoredDate (not committedDate, which a
	// rebase or amend resets) is when work on the change began.
	Commits struct {
		Nodes []struct {
			Commit struct {
				AuthoredDate githubv4.DateTime
			}
		}
	} `graphql:"commits(first: 1)"`
	Reviews struct {
		TotalCount int
		PageInfo   pageInfo
		Nodes      []reviewNode
	} `graphql:"reviews(first: 25)"`
	Labels struct {
		Nodes []struct {
			Name string
		}
	} `graphql:"labels(first: 20)"`
	Files struct {
		TotalCount int
		Nodes      []struct {
			Path string
		}
	} `graphql:"files(first: 100)"`
	// The earliest of the two draft events: a READY_FOR_REVIEW_EVENT first
	// means the PR was opened as a draft and became ready then; a
	// CONVERT_TO_DRAFT_EVENT first means it was opened ready.
	TimelineItems struct {
		Nodes []struct {
			Typename       string `graphql:"__typename"`
			ReadyForReview struct {
				CreatedAt githubv4.DateTime
			} `graphql:"... on ReadyForReviewEvent"`
		}
	} `graphql:"timelineItems(itemTypes: [READY_FOR_REVIEW_EVENT, CONVERT_TO_DRAFT_EVENT], first: 1)"`
}

type reviewNode struct {
	DatabaseID  int64 `graphql:"databaseId"`
	Author      *actor
	State       string
	SubmittedAt *githubv4.DateTime // null while pending
}

// pullsQuery reads one page of a repository's pull requests, most
// recently updated first: a backfill since T stops at the first one
// updated before T, having seen every PR created, merged or reviewed
// since.
type pullsQuery struct {
	Repository struct {
		PullRequests struct {
			PageInfo pageInfo
			Nodes    []pullNode
		} `graphql:"pullRequests(first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC})"`
	} `graphql:"repository(owner: $owner, name: $name)"`
	RateLimit rateLimit
}

type deploymentNode struct {
	DatabaseID  int64 `graphql:"databaseId"`
	Environment string
	CreatedAt   githubv4.DateTime
	CommitOid   string
	Ref         *struct {
		Name string
	}
	Creator      *actor
	LatestStatus *struct {
		State     string
		CreatedAt githubv4.DateTime
	}
}

// deploymentsQuery reads one page of the deployments to the given
// environments, newest first; the latest status is a field, not a
// connection, so a page costs one point.
type deploymentsQuery struct {
	Repository struct {
		Deployments struct {
			PageInfo pageInfo
			Nodes    []deploymentNode
		} `graphql:"deployments(environments: $environments, first: $first, after: $after, orderBy: {field: CREATED_AT, direction: DESC})"`
	} `graphql:"repository(owner: $owner, name: $name)"`
	RateLimit rateLimit
}

type releaseNode struct {
	DatabaseID   int64 `graphql:"databaseId"`
	TagName      string
	CreatedAt    githubv4.DateTime
	PublishedAt  *githubv4.DateTime
	IsDraft      bool
	IsPrerelease bool
	TagCommit    *struct {
		Oid string
	}
	Author *struct {
		Login string
	}
}

// releasesQuery reads one page of releases, newest first (one point).
type releasesQuery struct {
	Repository struct {
		Releases struct {
			PageInfo pageInfo
			Nodes    []releaseNode
		} `graphql:"releases(first: $first, after: $after, orderBy: {field: CREATED_AT, direction: DESC})"`
	} `graphql:"repository(owner: $owner, name: $name)"`
	RateLimit rateLimit
}

// moreReviewsQuery reads further reviews of one pull request whose first
// page of reviews holds none by anyone but its author and bots: without it,
// an author (or a bot) who posts 25 reviews first would hide the review
// that picked the change up. 1 point a page.
type moreReviewsQuery struct {
	Repository struct {
		PullRequest *struct {
			Reviews struct {
				PageInfo pageInfo
				Nodes    []reviewNode
			} `graphql:"reviews(first: 100, after: $after)"`
		} `graphql:"pullRequest(number: $number)"`
	} `graphql:"repository(owner: $owner, name: $name)"`
	RateLimit rateLimit
}
