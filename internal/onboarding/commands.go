package onboarding

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

func parseOnboardArgs(args []string) (team, tier string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--tier" || a == "-t":
			if i+1 >= len(args) {
				return "", "", errors.New("--tier needs A, B or C")
			}
			i++
			tier = args[i]
		case strings.HasPrefix(a, "--tier="):
			tier = strings.TrimPrefix(a, "--tier=")
		case strings.HasPrefix(a, "-"):
			return "", "", fmt.Errorf("unknown option %s", oneLine(a, 20))
		case team == "":
			team = a
		default:
			return "", "", fmt.Errorf("one team only, then --tier")
		}
	}
	if team == "" {
		return "", "", errors.New("name the receiving team: @org/team-sre")
	}
	if !teamRE.MatchString(team) {
		return "", "", fmt.Errorf("%s is not a team", oneLine(team, 60))
	}
	tier = strings.ToUpper(tier)
	if tier != "" && tier != "A" && tier != "B" && tier != "C" {
		return "", "", errors.New("the tier is A, B or C")
	}
	return team, tier, nil
}

func parseAttestArgs(verb string, args []string) (Command, error) {
	if len(args) == 0 {
		return Command{}, errors.New("name the item: ITEM-ID")
	}
	c := Command{Verb: strings.ToLower(verb), ItemID: strings.ToLower(args[0]), Arg: strings.Join(args[1:], " ")}
	if !idRE.MatchString(c.ItemID) {
		return Command{}, fmt.Errorf("%s is not an item id", oneLine(args[0], 48))
	}
	if c.Verb == "na" && strings.TrimSpace(c.Arg) == "" {
		return Command{}, errors.New("say why the item does not apply")
	}
	return c, nil
}

func transferCheck(s State, pr int, errs []string) intent.Intent {
	body := "GitHub now reads the CODEOWNERS of this branch without errors."
	if len(errs) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "GitHub reports %d error(s) in the CODEOWNERS of this branch:\n\n", len(errs))
		for i, e := range errs {
			if i == 20 {
				fmt.Fprintf(&b, "- and %d more\n", len(errs)-20)
				break
			}
			b.WriteString("- " + mdtext.Code(oneLine(e, 200)) + "\n")
		}
		b.WriteString("\nFix them on this branch before merging: until then GitHub asks no one for these paths' review. tasuki checks again on every verification and does not write to this branch.")
		body = b.String()
	}
	return intent.Intent{Kind: intent.UpsertComment, Number: pr,
		Marker: marker.New(MarkerTransfer+"-check", fmt.Sprintf("%s#%d", s.Repo, pr)), Body: body}
}
