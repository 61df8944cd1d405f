package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Timeouts of the server's life cycle.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 15 * time.Second
	// startAttempts bounds retries when the free port we picked is taken meanwhile.
	startAttempts = 3
)

// objectInUse is SQLSTATE 55006: the template database still has sessions.
const objectInUse = "55006"

// serverSettings trade durability for speed: a test server never survives a crash.
var serverSettings = []string{
	"fsync=off",
	"synchronous_commit=off",
	"full_page_writes=off",
	"max_connections=200",
	"shared_buffers=64MB",
	"log_min_messages=warning",
	"log_min_error_statement=panic",
}

// Server is a running throwaway PostgreSQL server.
type Server struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
	dbs  atomic.Int64
	// version is server_version_num, e.g. 150004.
	version int

	templatesMu sync.Mutex
	templates   map[string]*template
}

// template is a database prepared once and copied for each test.
type template struct {
	once sync.Once
	db   string
	err  error
}

// StartServer initialises a fresh cluster in a temporary directory and starts it on a
// free port of 127.0.0.1. Stop it with Stop.
func StartServer() (*Server, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	base, err := traversableTempDir(cred != nil)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(base, "pgtest-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	s := &Server{dir: dir}
	if err := s.initdb(bin, cred); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		err = s.start(bin, cred)
		if err == nil {
			return s, nil
		}
		if attempt == startAttempts {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) logFile() string { return filepath.Join(s.dir, "postgres.log") }

func (s *Server) initdb(bin string, cred *syscall.Credential) error {
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", s.dataDir(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	s.prepare(cmd, cred)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, lastLines(string(out), 10))
	}
	return nil
}

// prepare runs cmd in the server directory, as the server user.
func (s *Server) prepare(cmd *exec.Cmd, cred *syscall.Credential) {
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "HOME="+s.dir, "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// If the test binary dies without stopping us, so does the server.
		Pdeathsig: syscall.SIGQUIT,
	}
}

func (s *Server) start(bin string, cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	args := []string{"-D", s.dataDir(), "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", s.dir}
	for _, c := range serverSettings {
		args = append(args, "-c", c)
	}
	log, err := os.OpenFile(s.logFile(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	s.prepare(cmd, cred)
	cmd.Stdout, cmd.Stderr = log, log
	started := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		// Pdeathsig fires when the thread that started the child exits, not the
		// process: keep this goroutine on its own thread for the server's lifetime.
		runtime.LockOSThread()
		defer close(done)
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.cmd, s.done, s.port = cmd, done, port
	if err := s.waitReady(); err != nil {
		s.kill()
		logText, _ := os.ReadFile(s.logFile())
		return fmt.Errorf("%w: %s", err, lastLines(string(logText), 10))
	}
	return nil
}

func (s *Server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-s.done:
			return errors.New("postgres exited while starting")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			var v string
			if err = conn.QueryRow(ctx, "SHOW server_version_num").Scan(&v); err == nil {
				s.version, _ = strconv.Atoi(v)
			}
			_ = conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %s: %w", readyTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// DSN is the URL of database db on this server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// Port is the TCP port the server listens on (127.0.0.1).
func (s *Server) Port() int { return s.port }

// CreateDatabase creates a fresh, empty database and returns its DSN and a function
// that drops it (closing whatever connections are left).
func (s *Server) CreateDatabase(ctx context.Context) (dsn string, drop func() error, err error) {
	return s.createDatabase(ctx, "")
}

// CreateDatabaseFrom creates a fresh database as a copy of the template called name,
// which prepare fills on first use.
func (s *Server) CreateDatabaseFrom(ctx context.Context, name string, prepare func(ctx context.Context, dsn string) error) (dsn string, drop func() error, err error) {
	s.templatesMu.Lock()
	if s.templates == nil {
		s.templates = map[string]*template{}
	}
	tpl := s.templates[name]
	if tpl == nil {
		tpl = &template{db: "template_" + name}
		s.templates[name] = tpl
	}
	s.templatesMu.Unlock()
	tpl.once.Do(func() {
		ident := pgx.Identifier{tpl.db}.Sanitize()
		if tpl.err = s.admin(ctx, "CREATE DATABASE "+ident); tpl.err != nil {
			return
		}
		if tpl.err = prepare(ctx, s.DSN(tpl.db)); tpl.err != nil {
			return
		}
		// Nobody may connect to a template while it is copied.
		tpl.err = s.admin(ctx, "ALTER DATABASE "+ident+" WITH ALLOW_CONNECTIONS false")
	})
	if tpl.err != nil {
		return "", nil, fmt.Errorf("prepare template %s: %w", name, tpl.err)
	}
	return s.createDatabase(ctx, tpl.db)
}

func (s *Server) createDatabase(ctx context.Context, from string) (dsn string, drop func() error, err error) {
	name := fmt.Sprintf("t_%d", s.dbs.Add(1))
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if from != "" {
		stmt += " TEMPLATE " + pgx.Identifier{from}.Sanitize()
	}
	if s.version >= 150000 {
		// Copying files is several times faster than WAL-logging a small database, and
		// with fsync off the checkpoints it needs are cheap.
		stmt += " STRATEGY FILE_COPY"
	}
	// The sessions of whoever prepared the template may still be closing.
	for attempt := 1; ; attempt++ {
		err = s.admin(ctx, stmt)
		var pgErr *pgconn.PgError
		if err == nil || attempt == 50 || !errors.As(err, &pgErr) || pgErr.Code != objectInUse {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return "", nil, err
	}
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return s.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	}
	return s.DSN(name), drop, nil
}

func (s *Server) admin(ctx context.Context, stmt string) error {
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(ctx, stmt)
	return err
}

// Stop shuts the server down (fast shutdown, then kill) and removes its directory.
func (s *Server) Stop() error {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(stopTimeout):
			s.kill()
		}
	}
	return os.RemoveAll(s.dir)
}

func (s *Server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// serverCredential is the identity initdb and postgres run as: the "postgres" system
// user when we are root (PostgreSQL refuses to run as root), else ourselves (nil).
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a %q system user to run PostgreSQL as: %w", "postgres", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// traversableTempDir returns the temporary directory, making sure another user can
// reach a directory inside it when the server runs as another user: every parent
// needs the search (x) permission for others.
func traversableTempDir(otherUser bool) (string, error) {
	base, err := filepath.Abs(os.TempDir())
	if err != nil {
		return "", err
	}
	if !otherUser {
		return base, nil
	}
	for dir := base; ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return "", err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(dir, fi.Mode().Perm()|0o001); err != nil {
				return "", fmt.Errorf("make %s reachable for the postgres user: %w", dir, err)
			}
		}
		if dir == filepath.Dir(dir) {
			return base, nil
		}
	}
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process may take it
// before postgres binds it; StartServer then tries again.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
