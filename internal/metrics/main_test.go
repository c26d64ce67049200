package metrics_test

import (
	"os"
	"testing"

	"github.com/metalplane/metalplane/internal/apitest"
)

// TestMain removes the first starts the tests copied (apitest.Start).
func TestMain(m *testing.M) {
	code := m.Run()
	apitest.RemoveTemplates()
	os.Exit(code)
}
