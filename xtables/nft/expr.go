package nft

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Expr is one nf_tables expression of a rule, as a typed value: one type
// per kernel expression the iptables-nft 1.8.9 vocabulary uses, and
// Unknown for anything else, kept as its raw attribute bytes so that a
// rule hostwall cannot read is still known exactly.
type Expr interface {
	// exprName is the kernel's name of the expression (NFTA_EXPR_NAME).
	// Unexported because Match, Target and Unknown have a Name field.
	exprName() string
	// data returns the content of NFTA_EXPR_DATA, nil for none.
	data() ([]byte, error)
}

// NameOf is the kernel's name of an expression ("cmp", "match", ...).
func NameOf(e Expr) string { return e.exprName() }

// errUnmodelled means an expression carries attributes its typed value
// does not hold (a newer kernel's, a set-payload's checksum fields); the
// expression is then kept as Unknown rather than decoded lossily.
var errUnmodelled = errors.New("attributes outside the typed model")

// MarshalExprs encodes expressions as the content of NFTA_RULE_EXPRESSIONS:
// one nested NFTA_LIST_ELEM per expression, holding NFTA_EXPR_NAME and
// NFTA_EXPR_DATA. family is the rule's NFPROTO family; no expression
// iptables-nft writes depends on it, but the signature mirrors
// UnmarshalExprs.
func MarshalExprs(family byte, exprs []Expr) ([]byte, error) {
	// Written straight into one buffer: a restore marshals every rule
	// of the table here, and an encoder per expression and per nesting
	// cost a fifth of its time.
	var b []byte
	for i, e := range exprs {
		if e == nil {
			return nil, fmt.Errorf("expression %d is nil", i)
		}
		d, err := e.data()
		if err != nil {
			return nil, fmt.Errorf("expression %d (%s): %w", i, e.exprName(), err)
		}
		name := e.exprName()
		size := attrHeaderLen + attrSize(len(name)+1) // the element, header included
		if d != nil {
			size += attrSize(len(d))
		}
		if size > 0xffff {
			return nil, fmt.Errorf("encode expressions: expression %d (%s) of %d bytes is too large for a netlink attribute", i, name, size)
		}
		b = appendAttrHeader(b, unix.NFTA_LIST_ELEM|unix.NLA_F_NESTED, size)
		b = appendStringAttr(b, unix.NFTA_EXPR_NAME, name)
		if d != nil {
			b = appendBytesAttr(b, unix.NFTA_EXPR_DATA|unix.NLA_F_NESTED, d)
		}
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

const attrHeaderLen = 4

// attrSize is the room an attribute with n bytes of data takes.
func attrSize(n int) int { return attrHeaderLen + (n+3)&^3 }

// appendAttrHeader appends a netlink attribute header of length l
// (header included, padding not).
func appendAttrHeader(b []byte, typ uint16, l int) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	return binary.NativeEndian.AppendUint16(b, typ)
}

// pad fills b up to the next 4-byte boundary.
func pad(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// UnmarshalExprs decodes the content of NFTA_RULE_EXPRESSIONS as the kernel
// dumps it. It is strict: a malformed attribute, a missing or doubled
// mandatory attribute, or a value of the wrong size is an error. An
// expression with attributes outside its typed model, or one whose name
// it does not know, becomes Unknown with its bytes.
func UnmarshalExprs(family byte, b []byte) ([]Expr, error) {
	elems, err := parseAttrs(b)
	if err != nil {
		return nil, fmt.Errorf("expression list: %w", err)
	}
	out := make([]Expr, 0, len(elems))
	for i, el := range elems {
		if el.typ != unix.NFTA_LIST_ELEM {
			return nil, fmt.Errorf("expression list: attribute %d has type %d, want NFTA_LIST_ELEM", i, el.typ)
		}
		e, err := unmarshalExpr(el.data)
		if err != nil {
			return nil, fmt.Errorf("expression %d: %w", i, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func unmarshalExpr(b []byte) (Expr, error) {
	attrs, err := parseAttrs(b)
	if err != nil {
		return nil, err
	}
	var (
		name, data   []byte
		seenN, seenD bool
	)
	for _, a := range attrs {
		switch a.typ {
		case unix.NFTA_EXPR_NAME:
			if seenN {
				return nil, errors.New("NFTA_EXPR_NAME twice")
			}
			name, seenN = a.data, true
		case unix.NFTA_EXPR_DATA:
			if seenD {
				return nil, errors.New("NFTA_EXPR_DATA twice")
			}
			data, seenD = a.data, true
		default:
			return nil, fmt.Errorf("unexpected attribute %d in an expression", a.typ)
		}
	}
	if !seenN {
		return nil, errors.New("expression without NFTA_EXPR_NAME")
	}
	n, err := cString(name)
	if err != nil {
		return nil, fmt.Errorf("expression name: %w", err)
	}
	var raw []byte
	if seenD {
		raw = append([]byte{}, data...)
	}
	var fields attrMap
	if seenD {
		if fields, err = fieldsOf(data); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
	}
	var e Expr
	switch n {
	case "meta":
		e, err = unmarshalMeta(fields)
	case "payload":
		e, err = unmarshalPayload(fields)
	case "cmp":
		e, err = unmarshalCmp(fields)
	case "bitwise":
		e, err = unmarshalBitwise(fields)
	case "range":
		e, err = unmarshalRange(fields)
	case "counter":
		e, err = unmarshalCounter(fields)
	case "immediate":
		e, err = unmarshalImmediate(fields)
	case "limit":
		e, err = unmarshalLimit(fields)
	case "log":
		e, err = unmarshalLog(fields)
	case "match":
		e, err = unmarshalMatch(fields)
	case "target":
		e, err = unmarshalTarget(fields)
	case "lookup":
		e, err = unmarshalLookup(fields)
	case "ct":
		e, err = unmarshalCt(fields)
	case "reject":
		e, err = unmarshalReject(fields)
	default:
		return &Unknown{Name: n, Data: raw}, nil
	}
	if errors.Is(err, errUnmodelled) {
		return &Unknown{Name: n, Data: raw}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n, err)
	}
	return e, nil
}

// attr is one netlink attribute, its type without the NLA_F_NESTED and
// NLA_F_NET_BYTEORDER flags.
type attr struct {
	typ  uint16
	data []byte
}

// parseAttrs splits b into attributes. It is stricter than
// netlink.AttributeDecoder, which skips zero-length attributes: here every
// attribute must have a header, fit, and be padded to 4 bytes, so that
// truncated or garbled kernel data is an error and not a shorter list.
func parseAttrs(b []byte) ([]attr, error) {
	var out []attr
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("%d stray bytes after the last attribute", len(b))
		}
		l := int(binary.NativeEndian.Uint16(b[0:]))
		typ := binary.NativeEndian.Uint16(b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if l < 4 || l > len(b) {
			return nil, fmt.Errorf("attribute %d: length %d with %d bytes left", typ, l, len(b))
		}
		padded := (l + 3) &^ 3
		if padded > len(b) {
			return nil, fmt.Errorf("attribute %d: padding missing", typ)
		}
		out = append(out, attr{typ: typ, data: b[4:l]})
		b = b[padded:]
	}
	return out, nil
}

// attrMap holds an expression's attributes by type, each at most once.
type attrMap map[uint16][]byte

func fieldsOf(b []byte) (attrMap, error) {
	attrs, err := parseAttrs(b)
	if err != nil {
		return nil, err
	}
	m := make(attrMap, len(attrs))
	for _, a := range attrs {
		if _, dup := m[a.typ]; dup {
			return nil, fmt.Errorf("attribute %d twice", a.typ)
		}
		m[a.typ] = a.data
	}
	return m, nil
}

// only reports errUnmodelled if m holds an attribute outside allowed.
func (m attrMap) only(allowed ...uint16) error {
	for t := range m {
		ok := false
		for _, a := range allowed {
			if t == a {
				ok = true
				break
			}
		}
		if !ok {
			return errUnmodelled
		}
	}
	return nil
}

func (m attrMap) has(t uint16) bool {
	_, ok := m[t]
	return ok
}

// u32 reads a mandatory big-endian 32-bit attribute.
func (m attrMap) u32(t uint16, what string) (uint32, error) {
	b, ok := m[t]
	if !ok {
		return 0, fmt.Errorf("missing %s", what)
	}
	if len(b) != 4 {
		return 0, fmt.Errorf("%s: %d bytes, want 4", what, len(b))
	}
	return binary.BigEndian.Uint32(b), nil
}

func (m attrMap) u64(t uint16, what string) (uint64, error) {
	b, ok := m[t]
	if !ok {
		return 0, fmt.Errorf("missing %s", what)
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("%s: %d bytes, want 8", what, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

func (m attrMap) u16(t uint16, what string) (uint16, error) {
	b, ok := m[t]
	if !ok {
		return 0, fmt.Errorf("missing %s", what)
	}
	if len(b) != 2 {
		return 0, fmt.Errorf("%s: %d bytes, want 2", what, len(b))
	}
	return binary.BigEndian.Uint16(b), nil
}

func (m attrMap) str(t uint16, what string) (string, error) {
	b, ok := m[t]
	if !ok {
		return "", fmt.Errorf("missing %s", what)
	}
	s, err := cString(b)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return s, nil
}

// cString reads a netlink string as the kernel puts it: NUL-terminated,
// with no NUL inside.
func cString(b []byte) (string, error) {
	if len(b) == 0 || b[len(b)-1] != 0 {
		return "", errors.New("string not NUL-terminated")
	}
	for _, c := range b[:len(b)-1] {
		if c == 0 {
			return "", errors.New("NUL inside a string")
		}
	}
	return string(b[:len(b)-1]), nil
}

// encoder returns an attribute encoder in nf_tables' byte order.
func exprEncoder() *netlink.AttributeEncoder {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	return ae
}
