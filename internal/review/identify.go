package review

import "strings"

// maxIdentifying bounds the identifying attributes shown of one delete.
const maxIdentifying = 8

// identifyingNames are attribute names that say which object a resource
// is, across providers: what a reviewer needs to recognise what a delete
// destroys.
var identifyingNames = map[string]bool{
	"id": true, "name": true, "arn": true, "identifier": true, "bucket": true,
	"function_name": true, "cluster_identifier": true, "domain_name": true,
	"fqdn": true, "hostname": true, "dns_name": true, "self_link": true,
	"display_name": true, "title": true, "slug": true, "email": true,
	"project": true, "region": true, "location": true, "zone": true,
	"key": true, "path": true, "url": true, "uri": true,
	"tags.Name": true, "labels.name": true,
}

// identifying reports whether an attribute at path names the object.
func identifying(path string) bool {
	if identifyingNames[path] {
		return true
	}
	if strings.ContainsAny(path, ".[") {
		return false // nested values rarely name the object
	}
	for _, suffix := range []string{"_id", "_name", "_arn", "_identifier"} {
		if strings.HasSuffix(path, suffix) {
			return true
		}
	}
	return false
}

// identifyingAttrs returns the attributes of attrs that say what a delete
// destroys (id, name, arn and the like), at most maxIdentifying of them,
// with their values before the change. Sensitive or unknown values are
// never among them, not even as a marker.
func identifyingAttrs(attrs []AttrDiff) []AttrDiff {
	var out []AttrDiff
	for _, a := range attrs {
		if !identifying(a.Path) || a.Sensitive || a.Unknown || a.Before == Sensitive || a.Before == Unknown || a.Before == "null" {
			continue
		}
		out = append(out, AttrDiff{Path: a.Path, Before: a.Before, After: "null"})
		if len(out) == maxIdentifying {
			break
		}
	}
	return out
}
