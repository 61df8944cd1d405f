package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Defaults.
const (
	DefaultTimeout   = 30 * time.Second
	DefaultUserAgent = "studio-store-client"
	// maxResponseBytes bounds how much of an answer is read, so a misbehaving server
	// cannot exhaust memory.
	maxResponseBytes = 16 << 20
)

// Request headers; they mirror internal/store/httpapi, which this package does not
// import so the client stays free of the server's dependencies.
const (
	headerManager        = "X-Studio-Manager"
	headerOnBehalfOf     = "X-Studio-On-Behalf-Of"
	headerSource         = "X-Studio-Source"
	headerIdempotencyKey = "Idempotency-Key"
	headerOutcome        = "X-Studio-Outcome"
)

// Error messages of the client itself.
const (
	errBaseURL      = "store URL must be an absolute http or https URL without query or fragment"
	errEmptyKey     = "must not be empty"
	errBadResponse  = "unexpected answer from the store"
	errStatusFormat = "store answered %d"
)

// Options configure a Client.
type Options struct {
	// Token is the bearer token sent with every request.
	Token string
	// Manager is sent as X-Studio-Manager on writes whose Caller has no Manager: the
	// operator's --instance-id.
	Manager string
	// HTTPClient does the requests; nil means a client with the default transport.
	HTTPClient *http.Client
	// Timeout bounds each request; 0 means DefaultTimeout, negative means none.
	Timeout time.Duration
	// UserAgent is sent as User-Agent; "" means DefaultUserAgent.
	UserAgent string
	// OnRequest, if set, is called after every operation with its name (the store.API
	// method, e.g. "PutUser"), how long it took and its error, so callers can record
	// latency and errors by operation.
	OnRequest func(op string, d time.Duration, err error)
}

// Client talks to one store.
type Client struct {
	// base is the store URL without a trailing slash; escaped paths are appended.
	base    string
	opts    Options
	http    *http.Client
	timeout time.Duration
}

var _ store.API = (*Client)(nil)

// New returns a client of the store at baseURL (e.g. "http://127.0.0.1:8080"; a path
// prefix is kept).
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New(errBaseURL)
	}
	c := &Client{base: strings.TrimSuffix(u.String(), "/"), opts: opts, http: opts.HTTPClient, timeout: opts.Timeout}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.opts.UserAgent == "" {
		c.opts.UserAgent = DefaultUserAgent
	}
	return c, nil
}

// call is one API request.
type call struct {
	op     string
	method string
	// path is already escaped.
	path   string
	query  url.Values
	caller *store.Caller
	header map[string]string
	body   any
	// out receives the JSON answer of a 2xx status; nil ignores it.
	out any
}

// do runs c and reports it to OnRequest.
func (c *Client) do(ctx context.Context, cl call) (http.Header, int, error) {
	start := time.Now()
	h, status, err := c.roundTrip(ctx, cl)
	if c.opts.OnRequest != nil {
		c.opts.OnRequest(cl.op, time.Since(start), err)
	}
	return h, status, err
}

func (c *Client) roundTrip(ctx context.Context, cl call) (http.Header, int, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := c.newRequest(ctx, cl)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, store.Unavailable(redact(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, 0, store.Unavailable(redact(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.Header, resp.StatusCode, errorFromResponse(resp.StatusCode, resp.Header, body)
	}
	if cl.out != nil {
		if err := json.Unmarshal(body, cl.out); err != nil {
			return resp.Header, resp.StatusCode, &store.Error{Code: store.CodeInternal, Message: errBadResponse, Err: err}
		}
	}
	return resp.Header, resp.StatusCode, nil
}

func (c *Client) newRequest(ctx context.Context, cl call) (*http.Request, error) {
	raw := c.base + cl.path
	if len(cl.query) > 0 {
		raw += "?" + cl.query.Encode()
	}
	var body io.Reader
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return nil, store.Errorf(store.CodeInvalid, "body", "cannot encode the request: %v", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, raw, body)
	if err != nil {
		return nil, store.Errorf(store.CodeInvalid, "", "cannot build the request")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	if cl.caller != nil {
		manager := cl.caller.Manager
		if manager == "" {
			manager = c.opts.Manager
		}
		setIf(req.Header, headerManager, manager)
		setIf(req.Header, headerOnBehalfOf, cl.caller.OnBehalfOf)
		setIf(req.Header, headerSource, cl.caller.Source)
		// Caller.Actor is not sent: the server takes it from the token.
	}
	for k, v := range cl.header {
		setIf(req.Header, k, v)
	}
	return req, nil
}

func setIf(h http.Header, k, v string) {
	if v != "" {
		h.Set(k, v)
	}
}

// seg escapes one path segment (a key); an empty key is refused before any request,
// since it would address a different resource.
func seg(field, key string) (string, error) {
	if key == "" {
		return "", store.Errorf(store.CodeInvalid, field, errEmptyKey)
	}
	return url.PathEscape(key), nil
}

// redact strips the request URL from transport errors (*url.Error): the URL holds
// user keys and, for invitation links, tokens. The bearer token is in a header and
// never in an error.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s request: %w", ue.Op, ue.Err)
	}
	return err
}
