package server_test

import (
	"testing"

	"github.com/tasuki-sre/tasuki/internal/pgtest"
)

// One PostgreSQL server for the whole test binary; each test gets its own
// database.
func TestMain(m *testing.M) { pgtest.Main(m) }
