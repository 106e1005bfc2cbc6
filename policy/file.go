package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/hostwall/hostwall/xtables"
)

// Pos is a place in a rules file; columns count bytes from 1.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.Col > 0 {
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Error is a mistake in a rules file, with where it is.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

func errAt(p Pos, format string, args ...any) error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// File is a parsed rules file: its table blocks in order.
type File struct {
	Name   string
	Tables []*Block
}

// Block is one "*table ... COMMIT" section.
type Block struct {
	Table    string
	Pos      Pos
	Chains   []ChainDecl
	Commands []Command
}

// ChainDecl is a ":CHAIN POLICY [packets:bytes]" line; Policy is "-" for
// a user chain.
type ChainDecl struct {
	Name     string
	Policy   string
	Counters xtables.Counters
	Pos      Pos
}

// Command is one command line of a block: -A, -I, -F, -N, -X or -P.
type Command struct {
	Op    string // "-A", "-I", ...
	Chain string
	// Args are the rule options after the chain (and after the rule
	// number of -I), with the column each starts at.
	Args []string
	Cols []int
	// Counters from a leading "[p:b]", when the line had one.
	Counters    *xtables.Counters
	Pos         Pos
	InsertIndex int // -I position, 1-based; 0 when not given
}

// ArgPos is where argument i of the command starts (the command's own
// position when i is out of range).
func (c *Command) ArgPos(i int) Pos {
	p := c.Pos
	if i >= 0 && i < len(c.Cols) {
		p.Col = c.Cols[i]
	}
	return p
}

// MaxLine bounds a line, so a corrupt file cannot make hostwall hold
// gigabytes; iptables-restore's own limit is far lower (its parameter
// buffer is 1 KiB).
const MaxLine = 64 * 1024

// Parse reads a rules file. It checks the file's structure (tables,
// chain lines, commands, COMMIT) and tokenizes rules, but leaves the rule
// options to Build, which needs the family and the kernel.
func Parse(name string, data []byte) (*File, error) {
	f := &File{Name: name}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		line := bytes.Count(data[:i], []byte("\n")) + 1
		return nil, errAt(Pos{File: name, Line: line}, "NUL byte in file: this is not a rules file")
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	var cur *Block
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		pos := Pos{File: name, Line: lineNo}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || trimmed[0] == '#':
			continue
		case trimmed[0] == '*':
			if cur != nil {
				return nil, errAt(pos, "table %q starts before table %q was committed (missing COMMIT)", trimmed[1:], cur.Table)
			}
			table := trimmed[1:]
			if _, ok := knownTables[table]; !ok {
				return nil, errAt(Pos{name, lineNo, 2}, "unknown table %q (want filter, nat, mangle, raw or security)", table)
			}
			cur = &Block{Table: table, Pos: pos}
		case trimmed == "COMMIT":
			if cur == nil {
				return nil, errAt(pos, "COMMIT outside a table")
			}
			f.Tables = append(f.Tables, cur)
			cur = nil
		case cur == nil:
			return nil, errAt(pos, "%q outside a table: a table starts with a line like *filter", clip(trimmed))
		case trimmed[0] == ':':
			d, err := parseChainDecl(line, pos)
			if err != nil {
				return nil, err
			}
			for _, o := range cur.Chains {
				if o.Name == d.Name {
					return nil, errAt(pos, "chain %s declared twice (first at line %d)", d.Name, o.Pos.Line)
				}
			}
			cur.Chains = append(cur.Chains, d)
		default:
			c, err := parseCommand(line, pos)
			if err != nil {
				return nil, err
			}
			cur.Commands = append(cur.Commands, c)
		}
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, errAt(Pos{File: name, Line: lineNo + 1}, "line longer than %d bytes", MaxLine)
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if cur != nil {
		return nil, errAt(cur.Pos, "table %s is never committed (missing COMMIT)", cur.Table)
	}
	return f, nil
}

var knownTables = map[string]struct{}{"filter": {}, "nat": {}, "mangle": {}, "raw": {}, "security": {}}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func parseChainDecl(line string, pos Pos) (ChainDecl, error) {
	toks, cols, err := tokenize(line)
	if err != nil {
		return ChainDecl{}, errAt(pos, "%v", err)
	}
	name := toks[0][1:]
	d := ChainDecl{Name: name, Pos: pos}
	if name == "" || len(name) > xtables.MaxChainName {
		return d, errAt(Pos{pos.File, pos.Line, cols[0] + 1}, "chain name %q must be 1 to %d characters", name, xtables.MaxChainName)
	}
	if strings.HasPrefix(name, "-") || strings.HasPrefix(name, "!") {
		return d, errAt(Pos{pos.File, pos.Line, cols[0] + 1}, "chain name %q may not start with - or !", name)
	}
	if len(toks) < 2 {
		return d, errAt(pos, "chain line needs a policy: \":%s ACCEPT [0:0]\" or \":%s - [0:0]\"", name, name)
	}
	d.Policy = toks[1]
	switch d.Policy {
	case "-", "ACCEPT", "DROP":
	default:
		return d, errAt(Pos{pos.File, pos.Line, cols[1]}, "bad policy %q: want ACCEPT, DROP or - (user chain)", d.Policy)
	}
	if len(toks) >= 3 {
		c, err := parseCounters(toks[2])
		if err != nil {
			return d, errAt(Pos{pos.File, pos.Line, cols[2]}, "%v", err)
		}
		d.Counters = c
	}
	if len(toks) > 3 {
		return d, errAt(Pos{pos.File, pos.Line, cols[3]}, "unexpected %q after the chain's counters", toks[3])
	}
	return d, nil
}

func parseCounters(s string) (xtables.Counters, error) {
	var c xtables.Counters
	if len(s) < 5 || s[0] != '[' || s[len(s)-1] != ']' {
		return c, fmt.Errorf("bad counters %q: want [packets:bytes]", s)
	}
	var extra string
	n, _ := fmt.Sscanf(s[1:len(s)-1]+" x", "%d:%d %s", &c.Packets, &c.Bytes, &extra)
	if n != 3 || extra != "x" {
		return c, fmt.Errorf("bad counters %q: want [packets:bytes]", s)
	}
	return c, nil
}

var chainOps = map[string]string{
	"-A": "-A", "--append": "-A", "-I": "-I", "--insert": "-I",
	"-F": "-F", "--flush": "-F", "-N": "-N", "--new-chain": "-N",
	"-X": "-X", "--delete-chain": "-X", "-P": "-P", "--policy": "-P",
}

func parseCommand(line string, pos Pos) (Command, error) {
	toks, cols, err := tokenize(line)
	if err != nil {
		return Command{}, errAt(pos, "%v", err)
	}
	c := Command{Pos: pos}
	if strings.HasPrefix(toks[0], "[") {
		cnt, err := parseCounters(toks[0])
		if err != nil {
			return c, errAt(Pos{pos.File, pos.Line, cols[0]}, "%v", err)
		}
		c.Counters = &cnt
		toks, cols = toks[1:], cols[1:]
		if len(toks) == 0 {
			return c, errAt(pos, "counters without a command")
		}
	}
	op, ok := chainOps[toks[0]]
	if !ok {
		return c, errAt(Pos{pos.File, pos.Line, cols[0]}, "unknown command %q: hostwall reads -A, -I, -F, -N, -X and -P lines", clip(toks[0]))
	}
	c.Op = op
	c.Pos.Col = cols[0]
	if len(toks) < 2 {
		if op == "-F" || op == "-X" {
			return c, nil // all chains of the table
		}
		return c, errAt(c.Pos, "%s needs a chain name", op)
	}
	c.Chain = toks[1]
	if len(c.Chain) > xtables.MaxChainName {
		return c, errAt(Pos{pos.File, pos.Line, cols[1]}, "chain name %q is longer than %d characters", c.Chain, xtables.MaxChainName)
	}
	rest, restCols := toks[2:], cols[2:]
	switch op {
	case "-I":
		if len(rest) > 0 && rest[0] != "" && rest[0][0] >= '0' && rest[0][0] <= '9' {
			var n int
			if _, err := fmt.Sscanf(rest[0], "%d", &n); err != nil || n < 1 || fmt.Sprint(n) != rest[0] {
				return c, errAt(Pos{pos.File, pos.Line, restCols[0]}, "bad rule number %q", rest[0])
			}
			c.InsertIndex = n
			rest, restCols = rest[1:], restCols[1:]
		}
	case "-F", "-N", "-X":
		if len(rest) > 0 {
			return c, errAt(Pos{pos.File, pos.Line, restCols[0]}, "unexpected %q after %s %s", clip(rest[0]), op, c.Chain)
		}
	case "-P":
		if len(rest) != 1 || (rest[0] != "ACCEPT" && rest[0] != "DROP") {
			return c, errAt(c.Pos, "-P needs a chain and ACCEPT or DROP")
		}
	}
	c.Args, c.Cols = rest, restCols
	return c, nil
}

// tokenize splits a line as iptables-restore's add_param_to_argv does:
// on blanks, with double quotes grouping and, inside quotes, a backslash
// escaping the next character. It returns each token's 1-based column.
func tokenize(line string) ([]string, []int, error) {
	var (
		toks   []string
		cols   []int
		cur    strings.Builder
		in     bool
		quoted bool
		start  = -1
	)
	flush := func() {
		if cur.Len() > 0 || quoted {
			toks = append(toks, cur.String())
			cols = append(cols, start+1)
		}
		cur.Reset()
		quoted, start = false, -1
	}
	for i := 0; i < len(line); i++ {
		ch := line[i]
		if in {
			switch ch {
			case '\\':
				if i+1 < len(line) {
					i++
					cur.WriteByte(line[i])
				}
			case '"':
				in = false
			default:
				cur.WriteByte(ch)
			}
			continue
		}
		switch ch {
		case ' ', '\t', '\r', '\n':
			if start >= 0 {
				flush()
			}
		case '"':
			if start < 0 {
				start = i
			}
			in, quoted = true, true
		default:
			if start < 0 {
				start = i
			}
			cur.WriteByte(ch)
		}
	}
	if in {
		return nil, nil, fmt.Errorf("unterminated quote starting at column %d", start+1)
	}
	if start >= 0 {
		flush()
	}
	if len(toks) == 0 {
		return nil, nil, fmt.Errorf("empty line")
	}
	return toks, cols, nil
}
