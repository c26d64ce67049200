package httpapi_test

import (
	"context"
	"errors"
	"testing"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

// TestCheckAnswerAgainstTheServer: the load generator counts a page of
// instances as answered through CheckAnswer without decoding it, so the
// real server's success envelope must pass and its errors must come back
// as the codes Call would return.
func TestCheckAnswerAgainstTheServer(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		bmc := env.BMC()
		if err := bmc.Call(ctx, "CreateInstances", minimalCreate(), nil); err != nil {
			t.Fatal(err)
		}
		raw, err := bmc.Do(ctx, "DescribeInstances", []byte(`{"pageSize":20}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := httpapi.CheckAnswer("DescribeInstances", raw); err != nil {
			t.Errorf("a page of instances: %v, want nil", err)
		}
		raw, err = bmc.Do(ctx, "DescribeInstances", []byte(`{"pageSize":-1}`))
		if err != nil {
			t.Fatal(err)
		}
		var apiErr *httpapi.APIError
		if err := httpapi.CheckAnswer("DescribeInstances", raw); !errors.As(err, &apiErr) || apiErr.Code != "INVALID_PARAMETER" {
			t.Errorf("pageSize -1: %v, want INVALID_PARAMETER", err)
		}
		bad := env.BMC()
		bad.AccessKeySecret += "x"
		raw, err = bad.Do(ctx, "DescribeInstances", []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := httpapi.CheckAnswer("DescribeInstances", raw); !errors.As(err, &apiErr) || apiErr.Status != 401 {
			t.Errorf("wrong secret: %v, want an HTTP 401 error envelope", err)
		}
	})
}

func TestCheckAnswerRefusesWhatIsNotASuccessEnvelope(t *testing.T) {
	for _, tt := range []struct {
		body      string
		malformed bool
	}{
		{body: `{"requestId":"7d0c6f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f","response":{"requestId":"7d0c6f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f","totalCount":0}}`},
		{body: `{"requestId":"T1","response":{}}` + "\n"},
		{body: `{"requestId":"T1"}`, malformed: true},
		{body: `{"requestId":"T1","response":null}`, malformed: true},
		{body: `{"requestId":"T1","response":{"x":1}`, malformed: true}, // cut short
		{body: `{"requestId":"","response":{}}`, malformed: true},
		{body: `<html>ok</html>`, malformed: true},
		{body: ``, malformed: true},
	} {
		err := httpapi.CheckAnswer("DescribeInstances", &httpapi.RawResponse{Status: 200, Body: []byte(tt.body)})
		if got := errors.Is(err, httpapi.ErrMalformedResponse); got != tt.malformed || (err != nil) != tt.malformed {
			t.Errorf("body %q: got %v, want malformed %v", tt.body, err, tt.malformed)
		}
	}
}
