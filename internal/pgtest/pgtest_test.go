package pgtest_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasuki-sre/tasuki/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Two Start calls share one server but get separate, writable databases.
func TestStartGivesSeparateDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := pgtest.Start(t), pgtest.Start(t)
	if a == b {
		t.Fatalf("two Start calls returned the same database %s", a)
	}
	for i, url := range []string{a, b} {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("connect %s: %v", url, err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE TABLE t (n int)"); err != nil {
			t.Fatalf("create table in %s: %v", url, err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO t VALUES ($1)", i); err != nil {
			t.Fatalf("insert in %s: %v", url, err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
			t.Fatalf("database %s holds %d rows (err %v), want 1: databases are not separate", url, n, err)
		}
	}
}

// A test binary killed without cleanup (a -timeout panic, SIGKILL) does not
// leave its PostgreSQL running: the watchdog stops it and removes its files.
func TestServerStopsWhenTestBinaryDies(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		url := pgtest.Start(t)
		fmt.Println(url)
		select {} // until killed
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerStopsWhenTestBinaryDies$")
	cmd.Env = append(os.Environ(), "PGTEST_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "postgres://") {
		cmd.Process.Kill()
		cmd.Wait()
		if strings.Contains(line, "SKIP") {
			t.Skip(line)
		}
		t.Fatalf("child printed %q, %v; want a database URL", line, err)
	}
	url := strings.TrimSpace(line)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("server not reachable while the child lives: %v", err)
	}
	conn.Close(ctx)
	cmd.Process.Kill()
	cmd.Wait()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(cctx, url)
		cancel()
		if err != nil {
			return // stopped
		}
		conn.Close(ctx)
	}
	t.Fatalf("PostgreSQL at %s still answers 30s after its test binary was killed", url)
}
