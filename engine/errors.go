package engine

import "errors"

// ErrNotSupported means the backend in use (or the kernel) cannot do what
// was asked, as opposed to a mistake in the input.
var ErrNotSupported = errors.New("not supported")
