// Package pgtest starts a real PostgreSQL server for tests: one server per
// test binary, a fresh database per Start call. It needs the initdb and
// pg_ctl binaries (on PATH or in /usr/lib/postgresql/*/bin); without them the
// test is skipped, or fails under TASUKI_REQUIRE_INTEGRATION=1.
//
// Use it from a test binary like this, so the server stops when the tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		url := pgtest.Start(t) // postgres://postgres@127.0.0.1:PORT/tasuki_N?sslmode=disable
//	}
//
// Without Main, each Start call starts (and, in t.Cleanup, stops) its own
// server, which costs a second or two per test.
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
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// Server is one running PostgreSQL cluster owned by this test binary.
type Server struct {
	Dir  string // data directory, also the Unix socket directory
	Port int
	bin  string // directory holding initdb and pg_ctl
	user *user.User
	dog  *exec.Cmd // stops the server if the test binary dies without cleanup
	dbN  atomic.Int64
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
	mainActive atomic.Bool
)

// Main runs the tests of a binary with one shared PostgreSQL server, started
// on the first Start call, and stops it when the tests end. Call it from
// TestMain.
func Main(m *testing.M) {
	mainActive.Store(true)
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// Shutdown stops the shared server, if one was started. Main calls it; call it
// yourself from a TestMain that does not use Main.
func Shutdown() {
	if shared != nil {
		shared.Stop()
	}
}

// Start returns the URL of a fresh, empty database on a real PostgreSQL
// server. The database is dropped when t ends.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := findBin()
	if err != nil {
		testenv.Missing(t, err.Error())
		return ""
	}
	var srv *Server
	if mainActive.Load() {
		sharedOnce.Do(func() { shared, sharedErr = Launch(bin) })
		if sharedErr != nil {
			t.Fatalf("start postgres: %v", sharedErr)
		}
		srv = shared
	} else {
		srv, err = Launch(bin)
		if err != nil {
			t.Fatalf("start postgres: %v", err)
		}
		t.Cleanup(srv.Stop)
	}
	url, err := srv.CreateDatabase(context.Background())
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	if mainActive.Load() {
		t.Cleanup(func() { srv.dropDatabase(url) })
	}
	return url
}

// findBin returns the directory holding initdb and pg_ctl.
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Prefer the newest major version.
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

// Launch initialises a cluster in a new temporary directory and starts it on
// a free port. PostgreSQL refuses to run as root, so as root the binaries run
// as the machine's postgres user.
func Launch(bin string) (*Server, error) {
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs a postgres user to run PostgreSQL: %w", err)
		}
		s.user = u
	}
	// A short path: the Unix socket lives in it and socket paths are limited
	// to about 100 bytes.
	dir, err := os.MkdirTemp("/tmp", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	s.Dir = dir
	if s.user != nil {
		uid, _ := strconv.Atoi(s.user.Uid)
		gid, _ := strconv.Atoi(s.user.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("chown data directory %s to postgres: %w", dir, err)
		}
	}
	if out, err := s.run("initdb", "-D", dir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb -D %s: %w\n%s", dir, err, out)
	}
	var lastErr error
	for range 3 { // a free port may be taken between probing and listening
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", port, dir)
		out, err := s.run("pg_ctl", "-D", dir, "-o", opts, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "start")
		if err == nil {
			s.Port = port
			s.startWatchdog()
			return s, nil
		}
		lastErr = fmt.Errorf("pg_ctl start on port %d: %w\n%s\n%s", port, err, out, tail(filepath.Join(dir, "server.log")))
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// run runs one of the PostgreSQL binaries, as the postgres user when root.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	return s.command(name, args...).CombinedOutput()
}

func (s *Server) command(name string, args ...string) *exec.Cmd {
	p := filepath.Join(s.bin, name)
	if s.user != nil {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", p}, args...)...)
	}
	return exec.Command(p, args...)
}

// startWatchdog starts a small shell loop that stops the server and removes
// its directory once this process is gone, so that a test binary killed by a
// timeout does not leave PostgreSQL running.
func (s *Server) startWatchdog() {
	stop := strings.Join(s.command("pg_ctl", "-D", s.Dir, "-m", "immediate", "stop").Args, " ")
	script := fmt.Sprintf("while kill -0 %d 2>/dev/null; do sleep 1; done; %s >/dev/null 2>&1; rm -rf %s", os.Getpid(), stop, s.Dir)
	cmd := exec.Command("sh", "-c", script)
	if err := cmd.Start(); err == nil {
		s.dog = cmd
	}
}

// Stop stops the server (pg_ctl stop -m fast) and removes its directory.
func (s *Server) Stop() {
	if s.Dir == "" {
		return
	}
	_, _ = s.run("pg_ctl", "-D", s.Dir, "-m", "fast", "-w", "stop")
	if s.dog != nil {
		_ = s.dog.Process.Kill()
		_ = s.dog.Wait()
		s.dog = nil
	}
	_ = os.RemoveAll(s.Dir)
	s.Dir = ""
}

// URL returns the connection URL of database name on s.
func (s *Server) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, name)
}

// CreateDatabase creates a new empty database and returns its URL.
func (s *Server) CreateDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("tasuki_%d", s.dbN.Add(1))
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", s.URL("postgres"), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

func (s *Server) dropDatabase(url string) {
	name := url[strings.LastIndex(url, "/")+1:]
	name, _, _ = strings.Cut(name, "?")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	// WITH (FORCE) ends connections a test left open (PostgreSQL 13+).
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
