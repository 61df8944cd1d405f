package mail_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/studio-operator/studio-operator/internal/store"
	mailpkg "github.com/studio-operator/studio-operator/internal/store/mail"
)

const testEmail = "alice@example.com"

// newTestWorker builds a worker on the fake clock with fast, recorded backoff.
func newTestWorker(t *testing.T, outbox store.Outbox, sender mailpkg.Sender, clock *testClock, logs *logBuffer, edit func(*mailpkg.WorkerOptions)) (*mailpkg.Worker, *mailpkg.Metrics, *recordedBackoff) {
	t.Helper()
	backoff := &recordedBackoff{delay: time.Minute}
	metrics := mailpkg.NewMetrics()
	opts := mailpkg.WorkerOptions{
		From:    testFrom,
		Backoff: backoff.Backoff,
		Clock:   clock.Now,
		Logger:  logs.Logger(),
		Metrics: metrics,
	}
	if edit != nil {
		edit(&opts)
	}
	w, err := mailpkg.NewWorker(outbox, sender, opts)
	if err != nil {
		t.Fatalf("NewWorker: %v", err)
	}
	return w, metrics, backoff
}

func deliverDue(t *testing.T, w *mailpkg.Worker) int {
	t.Helper()
	n, err := w.DeliverDue(t.Context())
	if err != nil {
		t.Fatalf("DeliverDue: %v", err)
	}
	return n
}

func TestWorkerDeliversAnInvitationOverSMTP(t *testing.T) {
	clock, logs := newTestClock(), &logBuffer{}
	st := newTestStore(t, clock.Now)
	link := st.invite(t, "alice", testEmail, "nl")
	srv := startSMTPServer(t, smtpServerOptions{tls: tlsStartTLS, user: "relay", pass: testPassword})
	w, metrics, _ := newTestWorker(t, st, newSMTPSenderFor(t, "", srv, "relay", testPassword), clock, logs, nil)

	if n := deliverDue(t, w); n != 1 {
		t.Fatalf("first pass claimed %d messages, want 1", n)
	}
	got := srv.Received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	r := got[0]
	if r.To != testEmail || r.From != "noreply@studio.example" || !r.TLS || r.AuthUser != "relay" {
		t.Errorf("delivered to %q from %q, TLS %v, AUTH %q", r.To, r.From, r.TLS, r.AuthUser)
	}
	p := parseMessage(t, r.Data)
	msgID := p.Header.Get("Message-Id")
	if !strings.HasPrefix(msgID, "<") || !strings.HasSuffix(msgID, "@studio.example>") {
		t.Errorf("Message-ID = %q, want the store's <...@studio.example>", msgID)
	}
	assertInvitationMail(t, r.Data, msgID, link)
	if p.Subject != "Uitnodiging voor de Studio van Acme Support" {
		t.Errorf("subject = %q, want the Dutch one", p.Subject)
	}
	if !strings.Contains(p.Parts["text/html"], "Alice &lt;b&gt;Jansen&lt;/b&gt;") {
		t.Errorf("html part does not escape the display name")
	}

	// Delivered means completed: later passes, even after the lease, send nothing.
	clock.Advance(time.Hour)
	if n := deliverDue(t, w); n != 0 {
		t.Errorf("second pass claimed %d messages, want 0", n)
	}
	if diff := cmp.Diff([]outboxRow{{Attempts: 0, Completed: true}}, st.outboxRows(t)); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(metrics.Sent); got != 1 {
		t.Errorf("sent metric = %v, want 1", got)
	}
	if len(srv.Received()) != 1 {
		t.Errorf("server received %d messages, want exactly 1", len(srv.Received()))
	}
	logs.assertNoPrivateData(t, testEmail, link)
}

func TestWorkerRetriesTemporaryFailureThenDeliversOnce(t *testing.T) {
	clock, logs := newTestClock(), &logBuffer{}
	st := newTestStore(t, clock.Now)
	link := st.invite(t, "alice", testEmail, "")
	srv := startSMTPServer(t, smtpServerOptions{dataReplies: []error{&smtp.SMTPError{Code: 451, Message: "greylisted, try again for " + testEmail}}})
	w, metrics, backoff := newTestWorker(t, st, newSMTPSenderFor(t, "", srv), clock, logs, nil)

	deliverDue(t, w)
	if srv.DataCommands() != 1 || len(srv.Received()) != 0 {
		t.Fatalf("after the 451: %d DATA, %d received", srv.DataCommands(), len(srv.Received()))
	}
	// Not due before the backoff has passed.
	clock.Advance(59 * time.Second)
	if n := deliverDue(t, w); n != 0 {
		t.Fatalf("claimed %d messages before the backoff passed", n)
	}
	clock.Advance(time.Second)
	if n := deliverDue(t, w); n != 1 {
		t.Fatalf("claimed %d messages after the backoff, want 1", n)
	}
	clock.Advance(time.Hour)
	deliverDue(t, w)

	if got := len(srv.Received()); got != 1 {
		t.Fatalf("server received %d messages, want exactly 1", got)
	}
	if diff := cmp.Diff([]int{1}, backoff.Attempts()); diff != "" {
		t.Errorf("backoff attempts (-want +got):\n%s", diff)
	}
	rows := st.outboxRows(t)
	if len(rows) != 1 || rows[0].Attempts != 1 || !rows[0].Completed {
		t.Errorf("outbox rows = %+v, want one completed after 1 failed attempt", rows)
	}
	if !strings.Contains(rows[0].LastError, "temporary (smtp 451)") || strings.Contains(rows[0].LastError, testEmail) {
		t.Errorf("last error = %q, want the 451 without the address", rows[0].LastError)
	}
	if got := testutil.ToFloat64(metrics.FailedAttempts.WithLabelValues("temporary")); got != 1 {
		t.Errorf("failed attempts metric = %v, want 1", got)
	}
	logs.assertNoPrivateData(t, testEmail, link)
}

// TestWorkerSMTPDownThenUp runs the worker for real: the mail server is down
// (nothing listens), the worker retries with backoff, the server comes up, and the
// invitation arrives exactly once.
func TestWorkerSMTPDownThenUp(t *testing.T) {
	logs := &logBuffer{}
	st := newTestStore(t, nil)
	link := st.invite(t, "alice", testEmail, "")
	addr := freeAddr(t)
	backoff := &recordedBackoff{delay: 20 * time.Millisecond}
	w, err := mailpkg.NewWorker(st, newSMTPSenderFor(t, addr, nil), mailpkg.WorkerOptions{
		From:         testFrom,
		PollInterval: time.Hour, // only retries falling due (and Kick) wake it
		Backoff:      backoff.Backoff,
		Logger:       logs.Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	waitFor(t, "two failed attempts", func() bool { return len(backoff.Attempts()) >= 2 })
	srv := startSMTPServer(t, smtpServerOptions{addr: addr})
	waitFor(t, "the invitation to arrive", func() bool { return len(srv.Received()) == 1 })
	// Kicks and more time change nothing: it was delivered once.
	for range 3 {
		w.Kick()
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v", err)
	}
	done <- nil // for the cleanup

	if got := len(srv.Received()); got != 1 {
		t.Fatalf("server received %d messages, want exactly 1", got)
	}
	assertInvitationMail(t, srv.Received()[0].Data, parseMessage(t, srv.Received()[0].Data).Header.Get("Message-Id"), link)
	attempts := backoff.Attempts()
	for i, a := range attempts {
		if a != i+1 {
			t.Fatalf("backoff asked for attempts %v, want 1, 2, ...", attempts)
		}
	}
	rows := st.outboxRows(t)
	if len(rows) != 1 || !rows[0].Completed || rows[0].Attempts != len(attempts) {
		t.Errorf("outbox rows = %+v, want one completed after %d failed attempts", rows, len(attempts))
	}
	if !strings.Contains(rows[0].LastError, "temporary (network)") {
		t.Errorf("last error = %q, want a network error", rows[0].LastError)
	}
	logs.assertNoPrivateData(t, testEmail, link)
}

func TestWorkerDeadLetters(t *testing.T) {
	reject := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + testEmail + "> unknown"}
	cases := map[string]struct {
		server      smtpServerOptions
		down        bool // nothing listens
		maxAttempts int
		maxAge      time.Duration
		mutate      func(*store.OutboxMessage)
		wantData    int // DATA commands the server saw
		wantAttempt int // attempts recorded in the row
		wantError   string
	}{
		"permanent failures, after MaxAttempts": {
			server:      smtpServerOptions{dataReplies: []error{reject, reject, reject, reject}},
			maxAttempts: 3,
			wantData:    3,
			wantAttempt: 3,
			wantError:   "permanent (smtp 550)",
		},
		"a permanent failure, at once with MaxAttempts 1": {
			server:      smtpServerOptions{dataReplies: []error{reject, reject}},
			maxAttempts: 1,
			wantData:    1,
			wantAttempt: 1,
			wantError:   "permanent (smtp 550)",
		},
		"temporary failures, after MaxAge": {
			down:        true,
			maxAge:      2 * time.Minute, // the third attempt is 2 minutes after the first
			wantAttempt: 3,
			wantError:   "temporary (network)",
		},
		"a message that cannot be composed, at once": {
			mutate:      func(m *store.OutboxMessage) { m.MessageID = "not a message id" },
			wantAttempt: 1,
			wantError:   "invalid (error): compose: Message-ID",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			clock, logs := newTestClock(), &logBuffer{}
			st := newTestStore(t, clock.Now)
			link := st.invite(t, "alice", testEmail, "")
			var sender mailpkg.Sender
			var srv *testSMTPServer
			if tc.down {
				sender = newSMTPSenderFor(t, freeAddr(t), nil)
			} else {
				srv = startSMTPServer(t, tc.server)
				sender = newSMTPSenderFor(t, "", srv)
			}
			outbox := &faultOutbox{Outbox: st, mutate: tc.mutate}
			w, metrics, _ := newTestWorker(t, outbox, sender, clock, logs, func(o *mailpkg.WorkerOptions) {
				o.MaxAttempts, o.MaxAge = tc.maxAttempts, tc.maxAge
			})
			// Far more passes than needed, a day apart: a dead letter is never sent again.
			for range 8 {
				deliverDue(t, w)
				clock.Advance(24 * time.Hour / 8)
				if tc.maxAge > 0 {
					clock.Advance(time.Minute - 24*time.Hour/8) // one backoff per pass
				}
			}
			if srv != nil {
				if got := srv.DataCommands(); got != tc.wantData {
					t.Errorf("server saw %d DATA commands, want %d", got, tc.wantData)
				}
				if len(srv.Received()) != 0 {
					t.Errorf("server accepted a message")
				}
			}
			// The row is kept as failed, with its attempts and error, but without the
			// recipient and the bodies (which hold the link).
			rows := st.outboxRows(t)
			if len(rows) != 1 || !rows[0].Failed || rows[0].Completed || rows[0].Content || rows[0].Attempts != tc.wantAttempt {
				t.Fatalf("outbox rows = %+v, want one kept as failed, not completed, emptied, with %d attempts", rows, tc.wantAttempt)
			}
			if !strings.HasPrefix(rows[0].LastError, tc.wantError) || strings.Contains(rows[0].LastError, testEmail) {
				t.Errorf("last error = %q, want prefix %q and no address", rows[0].LastError, tc.wantError)
			}
			if got := testutil.ToFloat64(metrics.DeadLettered); got != 1 {
				t.Errorf("dead-lettered metric = %v, want 1", got)
			}
			if got := outbox.Failed(); len(got) != 1 {
				t.Errorf("FailOutbox called for %v, want once", got)
			}
			logs.assertNoPrivateData(t, testEmail, link)
		})
	}
}

func TestWorkerSurvivesOutboxFaults(t *testing.T) {
	clock, logs := newTestClock(), &logBuffer{}
	st := newTestStore(t, clock.Now)
	st.invite(t, "alice", testEmail, "")
	dir := filepath.Join(t.TempDir(), "mail")
	sender, err := mailpkg.NewDirSender(dir)
	if err != nil {
		t.Fatal(err)
	}
	outbox := &faultOutbox{Outbox: st, claimErrs: 1, completeErr: 1}
	w, _, _ := newTestWorker(t, outbox, sender, clock, logs, nil)

	// The database is down: the pass fails, nothing is sent.
	if _, err := w.DeliverDue(t.Context()); !errors.Is(err, errInjected) {
		t.Fatalf("DeliverDue = %v, want the claim error", err)
	}
	// Sent, but the outbox cannot record it: the pass reports it...
	if _, err := w.DeliverDue(t.Context()); !errors.Is(err, errInjected) {
		t.Fatalf("DeliverDue = %v, want the complete error", err)
	}
	// ...the lease keeps others off it for now...
	if n := deliverDue(t, w); n != 0 {
		t.Fatalf("claimed %d leased messages", n)
	}
	// ...and once it runs out, the message is delivered again: DirSender
	// recognises its Message-ID and writes no second file.
	clock.Advance(mailpkg.DefaultLease)
	if n := deliverDue(t, w); n != 1 {
		t.Fatalf("claimed %d messages after the lease, want 1", n)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("mail dir has %d files, want exactly 1", len(entries))
	}
	if rows := st.outboxRows(t); len(rows) != 1 || !rows[0].Completed {
		t.Errorf("outbox rows = %+v, want one completed", rows)
	}
}

func TestWorkerRunKickAndShutdown(t *testing.T) {
	logs := &logBuffer{}
	st := newTestStore(t, nil)
	started, gate := make(chan struct{}, 1), make(chan struct{})
	srv := startSMTPServer(t, smtpServerOptions{dataStarted: started, dataGate: gate})
	w, err := mailpkg.NewWorker(st, newSMTPSenderFor(t, "", srv), mailpkg.WorkerOptions{
		From:         testFrom,
		PollInterval: time.Hour, // only Kick wakes it
		Logger:       logs.Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	// The first pass finds nothing; the invitation is committed afterwards and the
	// store kicks the worker.
	time.Sleep(50 * time.Millisecond)
	link := st.invite(t, "alice", testEmail, "")
	w.Kick()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("Kick did not wake the worker")
	}
	// Shutdown while the server holds the message: Run finishes this delivery first.
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) before the delivery in flight finished", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(gate)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if len(srv.Received()) != 1 {
		t.Fatalf("server received %d messages, want 1", len(srv.Received()))
	}
	if rows := st.outboxRows(t); len(rows) != 1 || !rows[0].Completed {
		t.Errorf("outbox rows = %+v: the delivery in flight was not recorded", rows)
	}
	logs.assertNoPrivateData(t, testEmail, link)
}

func TestWorkerWritesEmlFilesWithoutSMTP(t *testing.T) {
	clock := newTestClock()
	st := newTestStore(t, clock.Now)
	link := st.invite(t, "alice", testEmail, "")
	dir := filepath.Join(t.TempDir(), "mail")
	sender, err := mailpkg.NewSender("", testFrom, dir)
	if err != nil {
		t.Fatal(err)
	}
	w, _, _ := newTestWorker(t, st, sender, clock, &logBuffer{}, nil)
	if n := deliverDue(t, w); n != 1 {
		t.Fatalf("claimed %d messages, want 1", n)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".eml") {
		t.Fatalf("mail dir holds %v, want one .eml file", entries)
	}
	data, err := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, data)
	if p.Header.Get("To") != "<"+testEmail+">" {
		t.Errorf("To = %q", p.Header.Get("To"))
	}
	assertInvitationMail(t, data, p.Header.Get("Message-Id"), link)
}

func TestNewWorkerRefusesBadOptions(t *testing.T) {
	st := newTestStore(t, nil)
	sender, err := mailpkg.NewDirSender(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		outbox store.Outbox
		sender mailpkg.Sender
		from   string
		edit   func(*mailpkg.WorkerOptions)
	}{
		"no from":   {outbox: st, sender: sender},
		"bad from":  {outbox: st, sender: sender, from: "noreply"},
		"no outbox": {sender: sender, from: testFrom},
		"no sender": {outbox: st, from: testFrom},
		"lease too short": {outbox: st, sender: sender, from: testFrom, edit: func(o *mailpkg.WorkerOptions) {
			o.Lease, o.SendTimeout = time.Minute, time.Minute
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			opts := mailpkg.WorkerOptions{From: tc.from}
			if tc.edit != nil {
				tc.edit(&opts)
			}
			if _, err := mailpkg.NewWorker(tc.outbox, tc.sender, opts); err == nil {
				t.Fatal("NewWorker accepted bad options")
			}
		})
	}
}

// slowSender makes every delivery take d on the test clock.
type slowSender struct {
	mailpkg.Sender
	clock *testClock
	d     time.Duration
}

func (s slowSender) Send(ctx context.Context, from, to string, msg []byte) error {
	s.clock.Advance(s.d)
	return s.Sender.Send(ctx, from, to, msg)
}

// threeInvited is a store with invitations to alice, bob and carol, and a sender
// that writes them to dir.
func threeInvited(t *testing.T) (*testClock, *testStore, string, mailpkg.Sender) {
	t.Helper()
	clock := newTestClock()
	st := newTestStore(t, clock.Now)
	for _, key := range []string{"alice", "bob", "carol"} {
		st.invite(t, key, key+"@example.com", "")
	}
	dir := filepath.Join(t.TempDir(), "mail")
	dirSender, err := mailpkg.NewDirSender(dir)
	if err != nil {
		t.Fatal(err)
	}
	return clock, st, dir, dirSender
}

func TestWorkerReleasesMessagesWhoseLeaseRunsShort(t *testing.T) {
	clock, st, dir, dirSender := threeInvited(t)
	// Lease 2m, SendTimeout 1m: a delivery must start within 50s of the claim.
	w, _, _ := newTestWorker(t, st, slowSender{Sender: dirSender, clock: clock, d: 40 * time.Second}, clock, &logBuffer{}, func(o *mailpkg.WorkerOptions) {
		o.Lease, o.SendTimeout = 2*time.Minute, time.Minute
	})
	countFiles := func() int {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}

	if n := deliverDue(t, w); n != 3 {
		t.Fatalf("claimed %d, want 3", n)
	}
	if got := countFiles(); got != 2 {
		t.Fatalf("first pass delivered %d, want 2 (the third started too late)", got)
	}
	// The third was given back, not left to its lease: the next pass claims it at
	// once, with a fresh lease long enough to send it.
	if n := deliverDue(t, w); n != 1 {
		t.Fatalf("claimed %d right after the first pass, want the released third", n)
	}
	if got := countFiles(); got != 3 {
		t.Errorf("delivered %d in all, want 3", got)
	}
	for _, r := range st.outboxRows(t) {
		if !r.Completed || r.Attempts != 0 {
			t.Errorf("outbox row %+v, want completed without failed attempts", r)
		}
	}
}

// stoppingSender stands for a SIGTERM that arrives during the first delivery: it
// ends the worker's context, then sends.
type stoppingSender struct {
	mailpkg.Sender
	stop context.CancelFunc
}

func (s stoppingSender) Send(ctx context.Context, from, to string, msg []byte) error {
	s.stop()
	return s.Sender.Send(ctx, from, to, msg)
}

func TestWorkerStoppingReleasesWhatItDidNotSend(t *testing.T) {
	clock, st, dir, dirSender := threeInvited(t)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	logs := &logBuffer{}
	w, _, _ := newTestWorker(t, st, stoppingSender{Sender: dirSender, stop: stop}, clock, logs, nil)
	if n, err := w.DeliverDue(ctx); n != 3 || err != nil {
		t.Fatalf("DeliverDue = %d, %v; want 3 claimed and no error", n, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("delivered %d while stopping, want the one under way", len(entries))
	}
	released := false
	for _, r := range logs.Records(t) {
		released = released || (r["msg"] == "unsent mails released for the next claim" && r["released"] == float64(2))
	}
	if !released {
		t.Errorf("the release of 2 mails is not logged: %v", logs.Records(t))
	}

	// Another replica, at the same instant: the two unsent mails are its to claim,
	// untried, rather than after the stopped worker's lease.
	msgs, err := st.ClaimOutbox(t.Context(), clock.Now(), 10, time.Minute)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("ClaimOutbox after the stop = %d messages, %v; want the 2 released", len(msgs), err)
	}
	for _, m := range msgs {
		if m.Attempts != 0 {
			t.Errorf("released message %d has %d attempts, want 0", m.ID, m.Attempts)
		}
	}
}
