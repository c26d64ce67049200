package metalplane

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// validationCode returns the code of e, "" for nil, so tests compare one string.
func validationCode(e *Error) Code {
	if e == nil {
		return ""
	}
	return e.Code
}

func TestExpandInstanceNames(t *testing.T) {
	t.Parallel()
	sixty := strings.Repeat("a", 60)
	tests := []struct {
		name    string
		pattern string
		amount  int
		want    []string
		code    Code
	}{
		// The examples of ACTIONS.md §3.1.2 and the seed page.
		{"docs one", "server_[3,3]", 1, []string{"server003"}, ""},
		{"docs two", "server_[3,3]", 2, []string{"server003", "server004"}, ""},
		{"dash", "web-[1,2]", 3, []string{"web-01", "web-02", "web-03"}, ""},
		{"two tokens", "node[0,3].dc[5,1]", 2, []string{"node000.dc5", "node001.dc6"}, ""},
		{"wider than bits", "db[98,2]", 3, []string{"db98", "db99", "db100"}, ""},
		{"empty token", "host[]", 2, []string{"host000000", "host000001"}, ""},
		{"no token", "db", 2, []string{"db", "db"}, ""},
		{"space", "web [1,2]", 2, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"bits above 6", "a[1,7]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"begin above 99999", "a[100000,2]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"66 characters", sixty + "[0,6]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},

		// The docs' multi-token example.
		{"docs underscores", "server_[3,3]_[1,1]", 2, []string{"server0031", "server0042"}, ""},
		{"default begin", "x[,3]", 2, []string{"x000", "x001"}, ""},
		{"default bits", "x[7,]", 1, []string{"x000007"}, ""},
		{"only a token", "[1,1]", 2, []string{"1", "2"}, ""},
		{"underscore first", "_[1,1]", 1, []string{"1"}, ""},
		{"leading zeros in begin", "x[007,2]", 1, []string{"x07"}, ""},
		{"max begin and bits", "x[99999,6]", 2, []string{"x099999", "x100000"}, ""},
		{"dots and digits", "a.b-9", 1, []string{"a.b-9"}, ""},
		{"64 characters", sixty + "[0,4]", 1, []string{sixty + "0000"}, ""},
		{"grows past 64", strings.Repeat("a", 62) + "[99,2]", 2, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"65 literal characters", strings.Repeat("a", 65), 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"empty", "", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"bits zero", "a[1,0]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"negative begin", "a[-1,2]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"plus sign", "a[+1,2]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"space in token", "a[1, 2]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"no comma", "a[5]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"three parts", "a[1,2,3]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"letters in token", "a[x,2]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"huge begin", "a[99999999999999999999999,2]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"unclosed", "a[1,2", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"nested", "a[[1,2]]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"stray close", "a]", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"lone underscore", "a_b", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"trailing underscore", "a_", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"underscore after token", "a[1,1]_", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"non-ASCII letter", "café", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"slash", "a/b", 1, nil, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"amount zero", "a", 0, nil, "INVALID_PARAMETER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ExpandInstanceNames(tt.pattern, tt.amount)
			if validationCode(err) != tt.code {
				t.Fatalf("ExpandInstanceNames(%q, %d): got error %v, want code %q", tt.pattern, tt.amount, err, tt.code)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ExpandInstanceNames(%q, %d) mismatch (-want +got):\n%s", tt.pattern, tt.amount, diff)
			}
		})
	}
}

func TestExpandHostnames(t *testing.T) {
	t.Parallel()
	sixty := strings.Repeat("h", 60)
	tests := []struct {
		name    string
		pattern string
		amount  int
		want    []string
		code    Code
	}{
		{"docs one", "server_[3,3]", 1, []string{"server003"}, ""},
		{"docs two", "server_[3,3]", 2, []string{"server003", "server004"}, ""},
		{"dash", "web-[1,2]", 3, []string{"web-01", "web-02", "web-03"}, ""},
		{"two tokens", "node[0,3].dc[5,1]", 2, []string{"node000.dc5", "node001.dc6"}, ""},
		{"wider than bits", "db[98,2]", 3, []string{"db98", "db99", "db100"}, ""},
		{"empty token", "host[]", 2, []string{"host000000", "host000001"}, ""},
		{"no token", "db", 2, []string{"db", "db"}, ""},
		{"terraform default", "Terraform-Instance", 1, []string{"Terraform-Instance"}, ""},
		{"space", "web [1,2]", 2, nil, "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"bits above 6", "a[1,7]", 1, nil, "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"begin above 99999", "a[100000,2]", 1, nil, "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"66 characters", sixty + "[0,6]", 1, nil, "INVALID_PARAMETER_HOSTNAME_EXCEED"},
		{"64 characters", sixty + "[0,4]", 1, []string{sixty + "0000"}, ""},
		{"grows past 64", strings.Repeat("h", 62) + "[99,2]", 2, nil, "INVALID_PARAMETER_HOSTNAME_EXCEED"},
		{"empty", "", 1, nil, "INVALID_PARAMETER_HOSTNAME_EXCEED"},
		{"bad character", "host!", 1, nil, "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"lone underscore", "my_host", 1, nil, "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"no comma", "h[5]", 1, nil, "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"long and malformed", strings.Repeat("h", 70) + " ", 1, nil, "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"amount zero", "h", 0, nil, "INVALID_PARAMETER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ExpandHostnames(tt.pattern, tt.amount)
			if validationCode(err) != tt.code {
				t.Fatalf("ExpandHostnames(%q, %d): got error %v, want code %q", tt.pattern, tt.amount, err, tt.code)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ExpandHostnames(%q, %d) mismatch (-want +got):\n%s", tt.pattern, tt.amount, diff)
			}
		})
	}
}

func TestValidatePlainName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		code  Code
	}{
		{"simple", "web-01.prod", ""},
		{"one character", "a", ""},
		{"64 characters", strings.Repeat("n", 64), ""},
		{"65 characters", strings.Repeat("n", 65), "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"empty", "", "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"pattern", "web-[1,2]", "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"underscore", "web_1", "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"space", "web 1", "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := validationCode(ValidatePlainName(tt.input)); got != tt.code {
				t.Errorf("ValidatePlainName(%q): got %q, want %q", tt.input, got, tt.code)
			}
		})
	}
}

func TestValidatePlainHostname(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		code  Code
	}{
		{"simple", "db-1.example.com", ""},
		{"64 characters", strings.Repeat("h", 64), ""},
		{"65 characters", strings.Repeat("h", 65), "INVALID_PARAMETER_HOSTNAME_EXCEED"},
		{"empty", "", "INVALID_PARAMETER_HOSTNAME_EXCEED"},
		{"pattern", "db[1,2]", "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"underscore", "db_1", "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"space", "db 1", "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"long and malformed", strings.Repeat("h", 65) + "!", "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := validationCode(ValidatePlainHostname(tt.input)); got != tt.code {
				t.Errorf("ValidatePlainHostname(%q): got %q, want %q", tt.input, got, tt.code)
			}
		})
	}
}
