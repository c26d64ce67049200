package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/metalplane/metalplane"
)

// Request bodies are decoded strictly (PROTOCOL.md §9, issue 11 finding
// 7): keys match the field names exactly, a key given twice, invalid UTF-8
// and the NUL character are refused, and unknown keys are ignored. Every
// refusal is INVALID_PARAMETER, before the action does anything.
//
// Why github.com/go-json-experiment/json rather than encoding/json:
// encoding/json matches keys case-insensitively ("ZONEID" fills zoneId),
// keeps the last of two equal keys and replaces invalid UTF-8 with U+FFFD,
// and none of the three can be switched off. The v2 semantics do what §9
// asks: exact names, duplicates and invalid UTF-8 are errors, unknown
// members are skipped. encoding/json/v2 is still behind GOEXPERIMENT=jsonv2
// in Go 1.26; this module is its mirror by the same authors (it aliases the
// standard library when built with that experiment), so moving to the
// standard library is an import change. The alternative, a pre-pass over
// encoding/json's tokens, can find duplicates and bad UTF-8 but not a
// miscased key: that needs encoding/json's field matching redone by
// reflection over every request type, and then a rewritten body.
//
// NUL is valid JSON and valid UTF-8, so no decoder refuses it, but
// PostgreSQL cannot store it in text (SQLSTATE 22021) and SQLite's C
// strings cut at it. It is refused anywhere in the body, even in a member
// the action ignores, so that both databases answer alike.

// decodeOptions spell out the strict choices even where they are the
// package's defaults, so a change of default cannot loosen them.
var decodeOptions = json.JoinOptions(
	json.MatchCaseInsensitiveNames(false),
	json.RejectUnknownMembers(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

// decode unmarshals the body into v. A body that is not a JSON object,
// breaks the rules above or whose fields have the wrong JSON type is
// INVALID_PARAMETER, never a 500.
func (r *request) decode(v any) error {
	return decodeRequest(r.body, v)
}

// decodeRequest is decode for any body.
func decodeRequest(body []byte, v any) error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return metalplane.Errorf("INVALID_PARAMETER", "The request body must be a JSON object.")
	}
	// Checked here, for the whole body, so that the message is plain
	// and the position exact; the decoder would refuse it too.
	if !utf8.Valid(body) {
		return metalplane.Errorf("INVALID_PARAMETER", "The request body is not valid UTF-8 (at byte %d).", invalidUTF8Offset(body))
	}
	if path, name, found := findNUL(body); found {
		if name {
			return metalplane.Errorf("INVALID_PARAMETER", "A key in %s contains the NUL character (\\u0000).", path)
		}
		return metalplane.Errorf("INVALID_PARAMETER", "The parameter %s must not contain the NUL character (\\u0000).", path)
	}
	if err := json.Unmarshal(body, v, decodeOptions); err != nil {
		return decodeError(err)
	}
	return nil
}

// invalidUTF8Offset returns the offset of the first byte of b that does
// not start a valid UTF-8 sequence.
func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// nulEscape is the only way a NUL can enter a JSON string: a raw NUL byte
// is a control character, which JSON refuses unescaped.
var nulEscape = []byte(`\u0000`)

// findNUL reports where body has a string holding NUL: the parameter path
// and whether it is a key rather than a value. A body that is not valid
// JSON reports nothing; decoding it refuses it anyway.
func findNUL(body []byte) (path string, name, found bool) {
	if !bytes.Contains(body, nulEscape) {
		// The common case costs one scan. A match may still be an
		// escaped backslash followed by "u0000", hence the walk below.
		return "", false, false
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body), decodeOptions)
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return "", false, false
		}
		if tok.Kind() != '"' || !strings.Contains(tok.String(), "\x00") {
			continue
		}
		kind, length := dec.StackIndex(dec.StackDepth())
		isName := kind == '{' && length%2 == 1
		ptr := dec.StackPointer()
		if isName {
			ptr = ptr.Parent()
		}
		return paramPath(ptr), isName, true
	}
}

// decodeError turns an error of json.Unmarshal into INVALID_PARAMETER with
// a message naming the parameter.
func decodeError(err error) error {
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return metalplane.Errorf("INVALID_PARAMETER", "The parameter %s is given twice.", paramPath(syn.JSONPointer))
		}
		return metalplane.Errorf("INVALID_PARAMETER", "The request body is not valid JSON (error at byte %d).", syn.ByteOffset)
	}
	var sem *json.SemanticError
	if errors.As(err, &sem) && sem.GoType != nil {
		field := paramPath(sem.JSONPointer)
		if field == "" {
			field = "body"
		}
		want := goTypeName(sem.GoType)
		if sem.JSONKind == '0' && errors.Is(sem.Err, strconv.ErrRange) {
			return metalplane.Errorf("INVALID_PARAMETER", "The parameter %s is out of range for type %s.", field, want)
		}
		return metalplane.Errorf("INVALID_PARAMETER", "The parameter %s must be of type %s, not a JSON %s.", field, want, jsonValueName(sem))
	}
	return metalplane.Errorf("INVALID_PARAMETER", "The request body is not valid JSON.")
}

// maxPathInMessage bounds how much of a parameter path a message repeats:
// the path of an unknown key is the client's text.
const maxPathInMessage = 100

// paramPath writes a JSON pointer as the parameter names of ACTIONS.md:
// /tags/tags/0/key becomes tags.tags[0].key.
func paramPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	s := b.String()
	if len(s) > maxPathInMessage {
		cut := maxPathInMessage
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// goTypeName names the Go type a parameter decodes into with the type
// names of ACTIONS.md.
func goTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "Integer"
	case reflect.Float32, reflect.Float64:
		return "Float"
	case reflect.String:
		return "String"
	case reflect.Bool:
		return "Boolean"
	case reflect.Slice, reflect.Array:
		return "Array"
	default:
		return "Object"
	}
}

// jsonValueName names what the client sent, as encoding/json's type
// errors did: "string", "number 1.5", "array"...
func jsonValueName(e *json.SemanticError) string {
	switch e.JSONKind {
	case '"':
		return "string"
	case '0':
		if len(e.JSONValue) > 0 && len(e.JSONValue) <= 32 {
			return fmt.Sprintf("number %s", e.JSONValue)
		}
		return "number"
	case 't', 'f':
		return "bool"
	case '[':
		return "array"
	case '{':
		return "object"
	case 'n':
		return "null"
	default:
		return "value"
	}
}
