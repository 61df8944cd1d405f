package storeserver

import (
	"fmt"
	"io"
	"log/slog"
)

type handlerFunc func(w io.Writer, opts *slog.HandlerOptions) slog.Handler

func newLogHandlerFunc(format string) (handlerFunc, error) {
	switch format {
	case "text":
		return func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) }, nil
	case "json":
		return func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(w, o) }, nil
	}
	return nil, fmt.Errorf("unknown log format %q", format)
}

// NewLogger returns the logger the flags ask for, writing to w.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	newHandler, err := newLogHandlerFunc(format)
	if err != nil {
		return nil, errLogFormat
	}
	l, err := parseLevel(level)
	if err != nil {
		return nil, errLogLevel
	}
	return slog.New(newHandler(w, &slog.HandlerOptions{Level: l})), nil
}
