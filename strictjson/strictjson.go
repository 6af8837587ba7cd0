// Package strictjson decodes JSON to the letter, for the server's request
// bodies and the client's files alike: encoding/json with unknown fields
// refused, and besides what it lets through, a duplicate key in any object
// and a key that names a struct field only when case-folded.
package strictjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// ErrTrailingData is returned by Decode for data after the JSON value.
var ErrTrailingData = errors.New("unexpected data after the JSON value")

// KeyError is Decode's error for a duplicate key or a key in the wrong case.
type KeyError struct {
	Key    string
	Reason string // "duplicate key" or "key differs from a field name in case"
}

// Error implements the error interface; it shows at most 40 bytes of the key.
func (e *KeyError) Error() string { return fmt.Sprintf("%s %.40q", e.Reason, e.Key) }

// Decode decodes the one JSON value in data into v as encoding/json does,
// refusing unknown fields and trailing data (ErrTrailingData); then it
// refuses (*KeyError) a key that appears twice in one object, anywhere in
// the document, and a key of an object decoded into a struct that is not
// exactly the name of one of its fields (encoding/json matches them
// case-insensitively). Other errors are encoding/json's.
func Decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return ErrTrailingData
	}
	w := walker{data: data}
	return w.value(reflect.TypeOf(v))
}

// walker checks the keys of a document encoding/json has accepted, so it
// only needs to find the ends of values, not to validate them.
type walker struct {
	data []byte
	i    int
}

func (w *walker) space() {
	for w.i < len(w.data) && strings.IndexByte(" \t\r\n", w.data[w.i]) >= 0 {
		w.i++
	}
}

// value walks the value at w.i, decoded into a value of type t (nil: no
// type, as in an interface or a custom unmarshaler).
func (w *walker) value(t reflect.Type) error {
	t = target(t)
	w.space()
	switch w.data[w.i] {
	case '{':
		return w.object(t)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		w.i++
		for {
			w.space()
			if w.data[w.i] == ']' {
				w.i++
				return nil
			}
			if err := w.value(elem); err != nil {
				return err
			}
			w.space()
			if w.data[w.i] == ',' {
				w.i++
			}
		}
	case '"':
		w.str()
	default: // a number, true, false or null
		for w.i < len(w.data) && strings.IndexByte(",]} \t\r\n", w.data[w.i]) < 0 {
			w.i++
		}
	}
	return nil
}

// object walks the object at w.i.
func (w *walker) object(t reflect.Type) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = fieldsOf(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	var seenBuf [16][]byte
	seen := seenBuf[:0]
	var seenSet map[string]bool // past 16 keys, instead of seen
	w.i++
	for {
		w.space()
		if w.data[w.i] == '}' {
			w.i++
			return nil
		}
		key, err := w.key()
		if err != nil {
			return err
		}
		switch {
		case seenSet != nil:
			if seenSet[string(key)] {
				return &KeyError{string(key), "duplicate key"}
			}
			seenSet[string(key)] = true
		case len(seen) == len(seenBuf):
			seenSet = map[string]bool{string(key): true}
			for _, k := range seen {
				seenSet[string(k)] = true
			}
			if len(seenSet) == len(seen) {
				return &KeyError{string(key), "duplicate key"}
			}
		default:
			for _, k := range seen {
				if bytes.Equal(k, key) {
					return &KeyError{string(key), "duplicate key"}
				}
			}
			seen = append(seen, key)
		}
		vt := elem
		if fields != nil {
			ft, ok := fields[string(key)]
			if !ok {
				return &KeyError{string(key), "key differs from a field name in case"}
			}
			vt = ft
		}
		w.space()
		w.i++ // the colon
		if err := w.value(vt); err != nil {
			return err
		}
		w.space()
		if w.data[w.i] == ',' {
			w.i++
		}
	}
}

// key reads the object key at w.i, unescaping it if it has escapes.
func (w *walker) key() ([]byte, error) {
	raw := w.str()
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], nil
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, err
	}
	return []byte(k), nil
}

// str skips the string at w.i and returns it, quotes included.
func (w *walker) str() []byte {
	start := w.i
	w.i++
	for w.data[w.i] != '"' {
		if w.data[w.i] == '\\' {
			w.i++
		}
		w.i++
	}
	w.i++
	return w.data[start:w.i]
}

var (
	unmarshaler     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// target returns the type whose fields or elements a JSON value decoded
// into t fills: t without pointers, or nil when t decodes itself or is an
// interface.
func target(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	if p := reflect.PointerTo(t); p.Implements(unmarshaler) || p.Implements(textUnmarshaler) {
		return nil
	}
	return t
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// fieldsOf returns the JSON names of struct type t's fields, with their
// types, as encoding/json names them (the promoted fields of untagged
// embedded structs included); cached per type.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case tag == "-" || !untaggedPath(t, f.Index):
			continue
		case f.Anonymous && name == "" && target(f.Type) != nil && target(f.Type).Kind() == reflect.Struct:
			continue // its fields are promoted
		case !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		fields[name] = f.Type
	}
	f, _ := fieldCache.LoadOrStore(t, fields)
	return f.(map[string]reflect.Type)
}

// untaggedPath reports whether every embedded struct on the way to the
// field at index is untagged, so that encoding/json promotes the field.
func untaggedPath(t reflect.Type, index []int) bool {
	for _, i := range index[:len(index)-1] {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" {
			return false
		}
		t = target(f.Type)
		if t == nil {
			return false
		}
	}
	return true
}
