package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestSecondStopSignalEndsTheProcessAtOnce sends real signals to a real
// process: this test binary run again as a helper that wires its signals
// as main does (notifyStop with os.Exit) and then hangs in its graceful
// stop. The first Ctrl-C starts the stop; the second ends the process at
// once, with status 130 and a line saying so (before, it was swallowed
// and the process hung on).
func TestSecondStopSignalEndsTheProcessAtOnce(t *testing.T) {
	if os.Getenv("ISPEKS_TEST_SIGNAL_HELPER") == "1" {
		signalHelper()
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT to send on Windows")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondStopSignalEndsTheProcessAtOnce$")
	cmd.Env = append(os.Environ(), "ISPEKS_TEST_SIGNAL_HELPER=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	await := func(want string) {
		t.Helper()
		select {
		case got := <-lines:
			if got != want {
				t.Fatalf("helper said %q, want %q (stderr %q)", got, want, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("helper never said %q", want)
		}
	}
	await("listening")
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	await("stopping")
	second := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the second Ctrl-C did not end the process")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("ended with %v, want exit status 130", err)
	}
	if took := time.Since(second); took > 3*time.Second {
		t.Errorf("took %s after the second signal", took)
	}
	if !strings.Contains(stderr.String(), "ispeks: second stop signal (interrupt): stopping now") {
		t.Errorf("stderr %q, want a line saying the second signal stopped it", stderr.String())
	}
}

// signalHelper is the process the test signals: a graceful stop that hangs.
func signalHelper() {
	ctx, release := notifyStop(os.Stderr, os.Exit)
	defer release()
	fmt.Println("listening")
	<-ctx.Done()
	fmt.Println("stopping")
	time.Sleep(20 * time.Second) // a drain that does not end
	fmt.Println("finished")
	os.Exit(0)
}
