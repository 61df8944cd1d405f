package sandbox

import "runtime"

// own starts the processes and, when asked, stops them, all on one locked OS thread
// that lives as long as they do. Linux sends the parent-death signal when the
// *thread* that started a process exits, not the whole process; and the Go runtime
// ends a thread when a goroutine locked to it exits without unlocking, which could be
// any thread this goroutine ran on, were it not locked itself.
func (c *controlPlane) own(started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cfg, err := c.env.Start()
	if err != nil {
		// Start may have got etcd going before the apiserver failed.
		_ = c.env.Stop()
		started <- err
		return
	}
	c.config, c.kubeconfig = cfg, c.env.KubeConfig
	started <- nil
	done := <-c.stopRequests
	done <- c.env.Stop()
}
