package alert

import (
	"errors"
	"fmt"
)

// Error codes, in the manner of benbjohnson/wtf: the code tells a caller
// (the department API) whether the user asked for something impossible or
// the product failed.
const (
	// EConflict: the alert is not in a state that allows the action (e.g.
	// acknowledging a resolved alert). HTTP 409.
	EConflict = "conflict"
	// EInvalid: the request itself is malformed (no department, no note).
	// HTTP 400.
	EInvalid = "invalid"
	// ENotFound: no such alert. HTTP 404.
	ENotFound = "not_found"
	// EInternal: anything else, including an alert in an unknown state.
	// HTTP 500.
	EInternal = "internal"
)

// Error is an error with a code and a message safe to show to the user
// (it never holds personal data).
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("alert %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-facing message of the first *Error in err's
// chain, "internal error" for any other error, and "" for nil.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "internal error"
}
