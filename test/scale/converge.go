package scale

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// creators is the number of goroutines creating objects: enough to keep the API
// server busy on this machine, so that creation is as fast as it takes it.
const creators = 32

// pollInterval is how often waits look at the tracker (at most 4 times a second).
const pollInterval = 250 * time.Millisecond

// tracker counts how many Studio objects are Ready at their generation, from watch
// events of its own informers. Counting in the event handlers (instead of listing a
// cache at every poll) keeps the harness cheap on a 2-core machine where it competes
// with what it measures.
type tracker struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	state    map[string]objState
	ready    int
	expected int
	// allReadyAt is when the count last reached expected: the moment of convergence,
	// independent of the poll interval; lastReady is the object that completed it.
	allReadyAt time.Time
	lastReady  string
	// Per kind: how many are expected and ready, and when the kind last became all
	// ready; this shows which kind held convergence up.
	wantKind   map[string]int
	readyKind  map[string]int
	kindDoneAt map[string]time.Time
}

type objState struct {
	ready      bool
	generation int64
	reason     string
}

// startTracker starts informers on the four kinds and returns once they are synced.
// Objects are slimmed down to their metadata and CommonStatus before they are
// stored, so the harness holds no access lists or subjects.
func startTracker(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme) (*tracker, error) {
	c, err := cache.New(unthrottled(cfg), cache.Options{Scheme: scheme, DefaultTransform: slim})
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t := &tracker{cancel: cancel, done: make(chan struct{}), state: map[string]objState{},
		wantKind: map[string]int{}, readyKind: map[string]int{}, kindDoneAt: map[string]time.Time{}}
	go func() {
		defer close(t.done)
		_ = c.Start(runCtx)
	}()
	syncCtx, cancelSync := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelSync()
	for _, k := range studioKinds {
		inf, err := c.GetInformer(syncCtx, k.obj())
		if err != nil {
			t.stop()
			return nil, fmt.Errorf("tracker informer %s: %w", k.name, err)
		}
		kind := k.name
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { t.observe(kind, o) },
			UpdateFunc: func(_, o any) { t.observe(kind, o) },
			DeleteFunc: func(o any) { t.forget(kind, o) },
		}); err != nil {
			t.stop()
			return nil, err
		}
	}
	if !c.WaitForCacheSync(syncCtx) {
		t.stop()
		return nil, errors.New("tracker: caches did not sync")
	}
	return t, nil
}

func (t *tracker) stop() {
	t.cancel()
	select {
	case <-t.done:
	case <-time.After(30 * time.Second):
	}
}

// slim keeps what readyAtGeneration reads.
func slim(o any) (any, error) {
	obj, ok := o.(client.Object)
	if !ok {
		return o, nil
	}
	st := commonStatus(obj)
	if st == nil {
		return o, nil
	}
	m := metav1.ObjectMeta{
		Name: obj.GetName(), Namespace: obj.GetNamespace(), UID: obj.GetUID(),
		ResourceVersion: obj.GetResourceVersion(), Generation: obj.GetGeneration(),
	}
	cs := *st
	switch obj.(type) {
	case *iamv1.Agency:
		x := &iamv1.Agency{ObjectMeta: m}
		x.Status.CommonStatus = cs
		return x, nil
	case *iamv1.Environment:
		x := &iamv1.Environment{ObjectMeta: m}
		x.Status.CommonStatus = cs
		return x, nil
	case *iamv1.StudioUser:
		x := &iamv1.StudioUser{ObjectMeta: m}
		x.Status.CommonStatus = cs
		return x, nil
	case *iamv1.RoleBinding:
		x := &iamv1.RoleBinding{ObjectMeta: m}
		x.Status.CommonStatus = cs
		return x, nil
	}
	return o, nil
}

func trackerKey(kind string, obj client.Object) string {
	return kind + "/" + obj.GetNamespace() + "/" + obj.GetName()
}

func (t *tracker) observe(kind string, o any) {
	obj, ok := o.(client.Object)
	if !ok {
		return
	}
	ready, reason := readyAtGeneration(obj)
	t.mu.Lock()
	defer t.mu.Unlock()
	key := trackerKey(kind, obj)
	if old, seen := t.state[key]; seen && old.ready {
		t.ready--
		t.readyKind[kind]--
	}
	t.state[key] = objState{ready: ready, generation: obj.GetGeneration(), reason: reason}
	if ready {
		t.ready++
		t.readyKind[kind]++
		now := time.Now()
		if t.readyKind[kind] == t.wantKind[kind] {
			t.kindDoneAt[kind] = now
		}
		if t.ready == t.expected && len(t.state) == t.expected {
			t.allReadyAt, t.lastReady = now, key
		}
	}
}

func (t *tracker) forget(kind string, o any) {
	if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	obj, ok := o.(client.Object)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	key := trackerKey(kind, obj)
	if old, seen := t.state[key]; seen {
		if old.ready {
			t.ready--
			t.readyKind[kind]--
		}
		delete(t.state, key)
	}
}

// expect sets how many objects of each kind convergence waits for.
func (t *tracker) expect(perKind map[string]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expected = 0
	for k, n := range perKind {
		t.wantKind[k] = n
		t.expected += n
	}
	if t.ready == t.expected && len(t.state) == t.expected {
		t.allReadyAt = time.Now()
	}
}

// timeline is, relative to start, when each kind last became all ready, and which
// object completed convergence.
func (t *tracker) timeline(start time.Time) (map[string]float64, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]float64{}
	for k, at := range t.kindDoneAt {
		out[k] = at.Sub(start).Seconds()
	}
	return out, t.lastReady
}

// counts returns ready, seen and, when all expected objects are ready, since when.
func (t *tracker) counts() (ready, seen int, allReadyAt time.Time, all bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	all = t.ready == t.expected && len(t.state) == t.expected
	return t.ready, len(t.state), t.allReadyAt, all
}

// readyAt reports whether the object kind/namespace/name is ready at generation gen
// or later, as far as the tracker has seen.
func (t *tracker) readyAt(kind string, obj client.Object, gen int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.state[trackerKey(kind, obj)]
	return ok && s.ready && s.generation >= gen
}

// notReady lists up to n objects that are not ready, with the reason.
func (t *tracker) notReady(n int) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for k, s := range t.state {
		if !s.ready {
			out = append(out, k+": "+s.reason)
		}
	}
	sort.Strings(out)
	if len(out) > n {
		out = append(out[:n], fmt.Sprintf("… and %d more", len(out)-n))
	}
	return out
}

// waitAllReady polls until every expected object is ready, and returns the moment
// the last one became so. progress, if set, is called about every 10 s.
func (t *tracker) waitAllReady(ctx context.Context, what string, progress func(string)) (time.Time, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	lastReport := time.Now()
	for {
		ready, seen, at, all := t.counts()
		if all {
			return at, nil
		}
		if progress != nil && time.Since(lastReport) >= 10*time.Second {
			progress(fmt.Sprintf("%s: %d of %d ready (%d seen)", what, ready, t.expected, seen))
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%s: %d of %d objects ready (%d seen) when the time ran out (%w); not ready: %v",
				what, ready, t.expected, seen, ctx.Err(), t.notReady(10))
		case <-tick.C:
		}
	}
}

// createResult is how creation went.
type createResult struct {
	// Duration is from the first create to the last one answered.
	Duration time.Duration
	Retries  int64
}

// createAll creates the namespaces (first, they must exist before anything in them),
// then objs in order through a pool of creators, as fast as the API server takes
// them. A failed create is retried a few times (the API server may shed load); an
// object that already exists counts as created (a retried create that had gone
// through).
func createAll(ctx context.Context, c client.Client, namespaces []client.Object, objs []client.Object) (createResult, error) {
	start := time.Now()
	var retries atomic.Int64
	for _, ns := range namespaces {
		if err := createOne(ctx, c, ns, &retries); err != nil {
			return createResult{}, err
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan client.Object)
	var wg sync.WaitGroup
	for range creators {
		wg.Go(func() {
			for obj := range work {
				if err := createOne(ctx, c, obj, &retries); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for _, obj := range objs {
		select {
		case work <- obj:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return createResult{}, err
	}
	return createResult{Duration: time.Since(start), Retries: retries.Load()}, nil
}

// warmUp sends one dry-run create of each kind, so that the first timed creates do
// not pay for the API server's lazy set-up of the CRDs' handlers (about 2 s on this
// machine, which would weigh on small floor runs). Dry runs store nothing.
func warmUp(ctx context.Context, c client.Client, org *Org) error {
	objs := []client.Object{org.Namespaces[0], org.Agencies[0], org.Envs[0], org.Users[0]}
	if len(org.EnvBindings) > 0 {
		objs = append(objs, org.EnvBindings[0])
	}
	objs = append(objs, org.AgencyBindings[0])
	for _, obj := range objs {
		cp := obj.DeepCopyObject().(client.Object)
		if err := c.Create(ctx, cp, client.DryRunAll); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("warm-up create %T: %w", obj, err)
		}
	}
	return nil
}

// createAttempts bounds the attempts per object.
const createAttempts = 6

func createOne(ctx context.Context, c client.Client, obj client.Object, retries *atomic.Int64) error {
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := c.Create(ctx, obj)
		switch {
		case err == nil:
			return nil
		case apierrors.IsAlreadyExists(err) && attempt > 1:
			return nil
		case attempt >= createAttempts || !retryable(err) || ctx.Err() != nil:
			return fmt.Errorf("create %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err)
		}
		retries.Add(1)
		obj.SetResourceVersion("")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// retryable: load shedding, timeouts and transport errors; not validation errors.
func retryable(err error) bool {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
			apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) || apierrors.IsNotFound(err)
	}
	return true
}
