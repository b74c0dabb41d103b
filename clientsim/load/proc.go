package load

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// ProcMemory is a process's resident memory from /proc/PID/status, in bytes.
type ProcMemory struct {
	// RSS is VmRSS, the resident set size now.
	RSS int64 `json:"vm_rss_bytes"`
	// HWM is VmHWM, the peak resident set size.
	HWM int64 `json:"vm_hwm_bytes"`
}

// ReadProcMemory reads VmRSS and VmHWM of process pid (Linux).
func ReadProcMemory(pid int) (ProcMemory, error) {
	if pid <= 0 {
		return ProcMemory{}, fmt.Errorf("process id %d is not positive", pid)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcMemory{}, fmt.Errorf("process %d: %w", pid, err)
	}
	defer f.Close()
	m, err := parseProcStatus(f)
	if err != nil {
		return m, fmt.Errorf("process %d: %w", pid, err)
	}
	return m, nil
}

// parseProcStatus reads the VmRSS and VmHWM lines ("VmRSS:\t  1234 kB") of
// a /proc/PID/status file.
func parseProcStatus(r io.Reader) (ProcMemory, error) {
	var m ProcMemory
	seen := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.HWM
		}
		if !ok || dst == nil {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return m, fmt.Errorf("status line %q: want \"<n> kB\"", sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb < 0 {
			return m, fmt.Errorf("status line %q: bad size", sc.Text())
		}
		*dst = kb << 10
		seen++
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("read status: %w", err)
	}
	if seen != 2 {
		return m, fmt.Errorf("status has no VmRSS and VmHWM lines (a kernel thread or a zombie?)")
	}
	return m, nil
}

// userHZ is the unit of the CPU times in /proc/PID/stat: USER_HZ, 100 on
// every Linux architecture Go supports.
const userHZ = 100

// ReadProcCPU reads the CPU time (user + system) process pid has used (Linux).
func ReadProcCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("process id %d is not positive", pid)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	d, err := parseProcStat(string(b))
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	return d, nil
}

// parseProcStat returns utime + stime of a /proc/PID/stat line: "pid (comm)
// state ppid …", utime and stime being fields 14 and 15 (proc(5)).
func parseProcStat(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command name", stat)
	}
	fields := strings.Fields(stat[i+1:]) // fields[0] is field 3, state
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat has %d fields after the command name, want at least 13", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("stat: CPU time %q is not a count of ticks", f)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
