package handler

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/google/go-github/v60/github"
)

// IsStatus reports whether err is GitHub answering with HTTP status code.
func IsStatus(err error, code int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == code
}

// StatusText names GitHub's answer in err ("404 Not Found") for a message
// that must not carry the error's details, or "error" when it was not an
// HTTP answer.
func StatusText(err error) string {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return strconv.Itoa(er.Response.StatusCode) + " " + http.StatusText(er.Response.StatusCode)
	}
	return "error"
}
