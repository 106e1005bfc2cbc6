package ext

import (
	"fmt"
	"strings"
)

// struct xt_log_info (linux/netfilter/xt_LOG.h), 32 bytes:
//
//	unsigned char level; unsigned char logflags; char prefix[30];
//
// libxt_LOG serves both families with this one layout.
//
// Log is its value.
type Log struct {
	Level  uint8  // syslog level 0-7
	Flags  uint8  // XT_LOG_*
	Prefix string // at most 29 bytes; Marshal cuts a longer one, as iptables does
}

// Marshal is the payload (32 bytes); it fails on a NUL in Prefix.
func (l *Log) Marshal() ([]byte, error) {
	data := make([]byte, logSize)
	data[0], data[1] = l.Level, l.Flags
	if err := putTruncString(data[2:2+logPrefixSize], l.Prefix); err != nil {
		return nil, err
	}
	return data, nil
}

// UnmarshalLog reads an xt_log_info payload; a prefix without its NUL is
// an error (the kernel refuses it, and where it ends would be a guess).
func UnmarshalLog(data []byte) (*Log, error) {
	if len(data) < logSize {
		return nil, fmt.Errorf("LOG: payload of %d bytes, want %d", len(data), logSize)
	}
	prefix, err := cStringField(data[2:2+logPrefixSize], "LOG prefix")
	if err != nil {
		return nil, err
	}
	return &Log{Level: data[0], Flags: data[1], Prefix: prefix}, nil
}

const (
	logSize         = 32
	logPrefixSize   = 30
	logDefaultLevel = 4 // LOG_WARNING, what iptables sets and save omits

	logTCPSeq    = 0x01 // XT_LOG_TCPSEQ
	logTCPOpt    = 0x02 // XT_LOG_TCPOPT
	logIPOpt     = 0x04 // XT_LOG_IPOPT
	logUID       = 0x08 // XT_LOG_UID
	logMACDecode = 0x20 // XT_LOG_MACDECODE
	logKnownMask = 0x2f // XT_LOG_MASK; 0x10 (XT_LOG_NFLOG) is dead
)

// logFlagOptions lists the flag options in the order save prints them.
var logFlagOptions = []struct {
	name string
	flag uint8
}{
	{"log-tcp-sequence", logTCPSeq},
	{"log-tcp-options", logTCPOpt},
	{"log-ip-options", logIPOpt},
	{"log-uid", logUID},
	{"log-macdecode", logMACDecode},
}

// syslogLevels are the names xtopt_parse_sysloglevel knows (compared case
// sensitively); "error" and "panic" are deprecated spellings.
var syslogLevels = map[string]uint8{
	"emerg": 0, "panic": 0, "alert": 1, "crit": 2, "error": 3,
	"warning": 4, "notice": 5, "info": 6, "debug": 7,
}

func init() {
	opts := []Option{{Name: "log-level", Args: 1}, {Name: "log-prefix", Args: 1}}
	for _, f := range logFlagOptions {
		opts = append(opts, Option{Name: f.name})
	}
	Register(&Extension{
		Kind: Target, Name: "LOG", Revision: 0, Family: FamilyAny,
		Size:    logSize,
		Options: opts,
		Parse:   parseLog,
		Save:    saveLog,
	})
}

// parseSyslogLevel parses a --log-level: a number 0-7 or a level name.
func parseSyslogLevel(s string) (uint8, error) {
	if v, err := ParseUint(s, 0, 7); err == nil {
		return uint8(v), nil
	}
	if v, ok := syslogLevels[s]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("log level %q unknown", s)
}

func parseLog(in *ParseInput) ([]byte, error) {
	l := Log{Level: logDefaultLevel}
	opts := newOptionSet(in)
	for _, o := range in.Options {
		if err := opts.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "log-level":
			lvl, err := parseSyslogLevel(o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			l.Level = lvl
		case "log-prefix":
			p := o.Arg()
			if p == "" {
				return nil, in.Errorf(o, "argument must have a minimum length of 1 character")
			}
			if strings.ContainsRune(p, '\n') {
				return nil, in.Errorf(o, "newlines not allowed in --log-prefix")
			}
			if strings.IndexByte(p, 0) >= 0 {
				return nil, in.Errorf(o, "contains a NUL byte")
			}
			l.Prefix = p
		default:
			for _, f := range logFlagOptions {
				if f.name == o.Name {
					l.Flags |= f.flag
				}
			}
		}
	}
	return l.Marshal()
}

func saveLog(b *strings.Builder, _ RuleInfo, data []byte) error {
	l, err := UnmarshalLog(data)
	if err != nil {
		return err
	}
	level, flags, prefix := l.Level, l.Flags, l.Prefix
	if level > 7 {
		return fmt.Errorf("LOG: invalid log level %d", level)
	}
	if flags&^logKnownMask != 0 {
		return fmt.Errorf("LOG: unknown log flags %#x", flags&^logKnownMask)
	}
	if prefix != "" {
		b.WriteString(" --log-prefix")
		SaveString(b, prefix)
	}
	if level != logDefaultLevel {
		fmt.Fprintf(b, " --log-level %d", level)
	}
	for _, f := range logFlagOptions {
		if flags&f.flag != 0 {
			b.WriteString(" --" + f.name)
		}
	}
	return nil
}
