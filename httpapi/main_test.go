package httpapi_test

import (
	"testing"

	"github.com/metalplane/metalplane/internal/apitest"
)

func TestMain(m *testing.M) { apitest.Main(m) }
