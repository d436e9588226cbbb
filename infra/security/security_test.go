package security

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// Cheap parameters keep the suite fast; TestDefaultParamsInHash checks the
// real ones once.
func fastHasher(concurrency int) *Argon2 {
	return NewArgon2(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, concurrency)
}

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h := fastHasher(0)
	enc, err := h.Hash(ctx, "kuih lapis sedap")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("PHC string %q", enc)
	}
	if ok, err := h.Verify(ctx, "kuih lapis sedap", enc); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, err := h.Verify(ctx, "kuih lapis sedaq", enc); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	again, _ := h.Hash(ctx, "kuih lapis sedap")
	if again == enc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestDefaultParamsInHash(t *testing.T) {
	h := NewArgon2(DefaultArgon2Params(), 1)
	enc, err := h.Hash(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	x, err := parsePHC(enc)
	if err != nil {
		t.Fatal(err)
	}
	if x.p.MemoryKiB != 19456 || x.p.Time != 2 || x.p.Threads != 1 || len(x.salt) != 16 || len(x.key) != 32 {
		t.Fatalf("params %+v salt %d", x.p, len(x.salt))
	}
	// A hasher with other defaults still verifies it: the parameters
	// travel with the hash.
	if ok, _ := fastHasher(1).Verify(context.Background(), "x", enc); !ok {
		t.Fatal("hash not verifiable with its stored parameters")
	}
}

func TestMatchDerivesOncePerSalt(t *testing.T) {
	ctx := context.Background()
	h := fastHasher(0)
	current, _ := h.Hash(ctx, "current password")
	temp, err := h.HashSharingSalt(ctx, "TEMPpassword23", current)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Split(current, "$")[4] != strings.Split(temp, "$")[4] {
		t.Fatal("salt not shared")
	}
	for pw, want := range map[string]int{"current password": 0, "TEMPpassword23": 1, "neither": -1} {
		before := h.Computed()
		got, err := h.Match(ctx, pw, current, temp)
		if err != nil || got != want {
			t.Errorf("Match(%s) = %d, %v; want %d", pw, got, err, want)
		}
		if n := h.Computed() - before; n != 1 {
			t.Errorf("Match(%s) derived %d keys, want 1", pw, n)
		}
	}
	other, _ := h.Hash(ctx, "other")
	before := h.Computed()
	if got, _ := h.Match(ctx, "other", current, other); got != 1 || h.Computed()-before != 2 {
		t.Errorf("distinct salts: index %d, %d derivations", got, h.Computed()-before)
	}
	if got, err := h.Match(ctx, "x"); got != -1 || err != nil {
		t.Errorf("no hashes: %d %v", got, err)
	}
}

func TestDummyHashNeverMatchesAndCostsAHash(t *testing.T) {
	h := fastHasher(0)
	d := h.DummyHash()
	if d != h.DummyHash() {
		t.Fatal("dummy hash changes")
	}
	before := h.Computed()
	if got, err := h.Match(context.Background(), "", d); got != -1 || err != nil {
		t.Fatalf("dummy matched: %d %v", got, err)
	}
	if h.Computed()-before != 1 {
		t.Fatal("checking against the dummy did not hash")
	}
}

func TestMalformedHashes(t *testing.T) {
	h := fastHasher(0)
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1000,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,x=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if _, err := h.Match(context.Background(), "x", bad); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Match against %q: %v", bad, err)
		}
	}
	if _, err := h.HashSharingSalt(context.Background(), "x", "garbage"); !errors.Is(err, ErrMalformedHash) {
		t.Errorf("HashSharingSalt with garbage: %v", err)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	h := NewArgon2(Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}, 2)
	if h.Concurrency() != 2 {
		t.Fatal(h.Concurrency())
	}
	// Fill the limit, then a hash with a cancelled context gives up
	// instead of queueing for ever.
	a, b := <-h.slots, <-h.slots
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("hash past the limit: %v", err)
	}
	h.slots <- a
	h.slots <- b
	// Many concurrent hashes all finish.
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Hash(context.Background(), "x"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(h.slots) != 2 {
		t.Fatalf("%d of 2 slots back after the hashes", len(h.slots))
	}
}

// The slots keep their block memory between derivations, at most the
// configured cost: a hash stored under a larger one (an older policy) is
// derived in memory of its own. Hashes stay x/crypto's argon2id, so hashes
// stored before the slots existed still verify.
func TestSlotsKeepTheirMemory(t *testing.T) {
	ctx := context.Background()
	h := NewArgon2(Argon2Params{MemoryKiB: 256, Time: 1, Threads: 1}, 1)
	enc, err := h.Hash(ctx, "kata laluan")
	if err != nil {
		t.Fatal(err)
	}
	x, err := parsePHC(enc)
	if err != nil {
		t.Fatal(err)
	}
	if want := argon2.IDKey([]byte("kata laluan"), x.salt, 1, 256, 1, 32); !bytes.Equal(x.key, want) {
		t.Fatalf("hash key %x, x/crypto's %x", x.key, want)
	}
	older := phc{p: Argon2Params{MemoryKiB: 1024, Time: 2, Threads: 1}, salt: x.salt, key: argon2.IDKey([]byte("lama"), x.salt, 2, 1024, 1, 32)}.String()
	for _, c := range []struct {
		password, encoded string
		want              bool
	}{{"kata laluan", enc, true}, {"lama", older, true}, {"salah", older, false}, {"kata laluan", enc, true}} {
		if ok, err := h.Verify(ctx, c.password, c.encoded); err != nil || ok != c.want {
			t.Errorf("Verify(%q, %s) = %v, %v; want %v", c.password, c.encoded, ok, err, c.want)
		}
	}
	slot := <-h.slots
	if slot.Size() != 256 {
		t.Errorf("the slot holds %d KiB after a 1024 KiB hash of an older policy, want the configured 256", slot.Size())
	}
	h.slots <- slot
}

func TestRate(t *testing.T) {
	r, err := fastHasher(0).Rate(context.Background(), 50*time.Millisecond)
	if err != nil || r <= 0 {
		t.Fatalf("rate %v %v", r, err)
	}
}

// TestRateKeepsItsMemories: after PrepareRate, measurements hash in the
// memories it made (bench login samples the process's CPU around Rate and
// must not count the making of 20 MiB a worker as hashing).
func TestRateKeepsItsMemories(t *testing.T) {
	h := fastHasher(0)
	h.PrepareRate()
	made := slices.Clone(h.rateMems)
	if len(made) != h.cores {
		t.Fatalf("PrepareRate made %d memories, want one per core (%d)", len(made), h.cores)
	}
	for _, workers := range []int{h.cores, 1, h.cores} {
		if _, err := h.RateIn(context.Background(), workers, 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(h.rateMems, made) {
			t.Fatalf("a measurement with %d workers made new memories", workers)
		}
	}
	if _, err := h.RateIn(context.Background(), h.cores+1, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if len(h.rateMems) != h.cores+1 || !slices.Equal(h.rateMems[:h.cores], made) {
		t.Errorf("a measurement with one worker more holds %d memories, want the %d kept and one new", len(h.rateMems), h.cores)
	}
}

func BenchmarkArgon2Default(b *testing.B) {
	h := NewArgon2(DefaultArgon2Params(), 0)
	enc, _ := h.Hash(context.Background(), "kuih lapis sedap")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _ := h.Verify(context.Background(), "kuih lapis sedap", enc); !ok {
				b.Fatal("no match")
			}
		}
	})
}

func master(t *testing.T, b byte) []byte {
	t.Helper()
	k := make([]byte, MasterKeySize)
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func TestSealer(t *testing.T) {
	s, err := NewSealer(master(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	aad := []byte("ispeks/account/791117045671/temporary-password/t1")
	sealed, err := s.Seal([]byte("Xk7mP2qRw9Zt4a"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "Xk7mP2qRw9Zt4a") || !strings.HasPrefix(sealed, "v1."+s.KeyID()+".") {
		t.Fatalf("sealed %q", sealed)
	}
	pt, err := s.Open(sealed, aad)
	if err != nil || string(pt) != "Xk7mP2qRw9Zt4a" {
		t.Fatalf("Open: %q %v", pt, err)
	}
	// Other AAD (another account), another key, tampering: refused.
	if _, err := s.Open(sealed, []byte("ispeks/account/800101141234/temporary-password/t1")); !errors.Is(err, ErrUnseal) {
		t.Errorf("other AAD: %v", err)
	}
	other, _ := NewSealer(master(t, 2))
	if _, err := other.Open(sealed, aad); !errors.Is(err, ErrUnseal) {
		t.Errorf("other key: %v", err)
	}
	raw := []byte(sealed)
	raw[len(raw)-3] ^= 1
	if _, err := s.Open(string(raw), aad); !errors.Is(err, ErrUnseal) {
		t.Errorf("tampered: %v", err)
	}
	for _, bad := range []string{"", "v2.x.y", "v1." + s.KeyID() + ".!!", "v1." + s.KeyID() + ".AAAA"} {
		if _, err := s.Open(bad, aad); !errors.Is(err, ErrUnseal) {
			t.Errorf("Open(%q): %v", bad, err)
		}
	}
	// After a rotation the old key still opens old values.
	rotated, _ := NewSealer(master(t, 2), master(t, 1))
	if pt, err := rotated.Open(sealed, aad); err != nil || string(pt) != "Xk7mP2qRw9Zt4a" {
		t.Errorf("rotated: %v", err)
	}
	if _, err := NewSealer([]byte("short")); !errors.Is(err, ErrKey) {
		t.Errorf("short key: %v", err)
	}
}

func TestMasterKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "secret.key")
	k1, err := LoadOrCreateMasterKey(path)
	if err != nil || len(k1) != MasterKeySize {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o", st.Mode().Perm())
	}
	k2, err := LoadOrCreateMasterKey(path)
	if err != nil || string(k1) != string(k2) {
		t.Fatal("key changed on second start")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateMasterKey(path); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key: %v", err)
	}
	_ = os.Chmod(path, 0o600)
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateMasterKey(path); !errors.Is(err, ErrKey) {
		t.Fatalf("garbage key file: %v", err)
	}
}

func TestParseMasterKey(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	if k, err := ParseMasterKey(" " + hexKey + "\n"); err != nil || len(k) != 32 {
		t.Fatal(err)
	}
	if _, err := ParseMasterKey("q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k="); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("ab", 31)} {
		if _, err := ParseMasterKey(bad); !errors.Is(err, ErrKey) {
			t.Errorf("ParseMasterKey(%q): %v", bad, err)
		}
	}
}

func TestKeyed(t *testing.T) {
	k, err := NewKeyed(master(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	p := k.ProbeKey("791117045671")
	if len(p) != 32 || strings.Trim(p, "0123456789abcdef") != "" || p != k.ProbeKey("791117045671") || p == k.ProbeKey("791117045672") {
		t.Fatalf("probe key %q", p)
	}
	k2, _ := NewKeyed(master(t, 2))
	if k2.ProbeKey("791117045671") == p {
		t.Fatal("probe key does not depend on the master key")
	}
	if k.Sum("a", "b") == k.Sum("ab", "") {
		t.Fatal("purpose and value not separated")
	}
	counts := make([]int, 16)
	for i := 0; i < 1600; i++ {
		counts[k.Pick("decoy/image", strings.Repeat("x", i), 16)]++
	}
	for i, c := range counts {
		if c == 0 {
			t.Fatalf("image %d never picked: %v", i, counts)
		}
	}
	img, phr := k.DecoyIndexes("800101141234", 16, 480)
	img2, phr2 := k.DecoyIndexes("800101141234", 16, 480)
	if img != img2 || phr != phr2 || img < 0 || img >= 16 || phr < 0 || phr >= 480 {
		t.Fatal("decoy not fixed per ID")
	}
	if k.RecoveryCodeHash("abcde-fghjk") != k.RecoveryCodeHash("ABCDEFGHJK") || k.RecoveryCodeHash("0O1IL") != k.RecoveryCodeHash("00111") {
		t.Fatal("recovery codes not normalised")
	}
}

func TestGenerator(t *testing.T) {
	var g Generator
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		pw, err := g.TemporaryPassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 14 || strings.ContainsAny(pw, "0Oo1Il") || seen[pw] {
			t.Fatalf("temporary password %q", pw)
		}
		seen[pw] = true
	}
	codes, err := g.RecoveryCodes(10)
	if err != nil || len(codes) != 10 {
		t.Fatal(err)
	}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || NormalizeRecoveryCode(c) != strings.ReplaceAll(c, "-", "") {
			t.Fatalf("recovery code %q", c)
		}
	}
	if _, err := g.RecoveryCodes(0); err == nil {
		t.Fatal("0 codes accepted")
	}
}

func TestTOTP(t *testing.T) {
	tp := TOTP{}
	secret, url, err := tp.Generate("791117-04-****")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "otpauth://totp/iSPEKS:") || !strings.Contains(url, "secret="+secret) || !strings.Contains(url, "period=30") {
		t.Fatalf("url %q", url)
	}
	now := time.Date(2026, 3, 2, 9, 0, 10, 0, time.UTC)
	code, err := tp.Code(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		step, ok, err := tp.Match(secret, code, now.Add(d))
		if err != nil || !ok || step != Step(now) {
			t.Errorf("code at offset %v: step %d ok %v err %v", d, step, ok, err)
		}
	}
	for _, d := range []time.Duration{-61 * time.Second, 61 * time.Second} {
		if _, ok, _ := tp.Match(secret, code, now.Add(d)); ok {
			t.Errorf("code accepted %v away", d)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "12 456", "abcdef"} {
		if _, ok, err := tp.Match(secret, bad, now); ok || err != nil {
			t.Errorf("Match(%q) = %v, %v", bad, ok, err)
		}
	}
	if _, _, err := tp.Match("not base32!", "123456", now); err == nil {
		t.Error("bad secret not reported")
	}
}

// TestMasterKeyExposedReadOnlyUse: a key file group or others can read is
// loaded for a use that only reads (an audit of a copy on read-only media,
// where nobody can chmod it), with a warning naming the file and its mode
// but never the key; the portal's loader and a read that is not read-only
// still refuse it, and reading never creates a key.
func TestMasterKeyExposedReadOnlyUse(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	want, err := LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	got, err := ReadMasterKey(path, ReadOptions{ReadOnlyUse: true, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read-only use of a 0644 key: %v", err)
	}
	line := logged.String()
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "path="+path) || !strings.Contains(line, "mode=0644") {
		t.Errorf("read-only use of a 0644 key logged %q, want a warning naming the file and its mode", line)
	}
	if strings.Contains(line, hex.EncodeToString(want)) {
		t.Errorf("the warning carries the key: %q", line)
	}

	if _, err := LoadOrCreateMasterKey(path); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("the portal's loader took a 0644 key: %v", err)
	}
	logged.Reset()
	if _, err := ReadMasterKey(path, ReadOptions{Logger: slog.New(slog.NewTextHandler(&logged, nil))}); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a read that is not read-only took a 0644 key: %v", err)
	}

	missing := filepath.Join(dir, "none.key")
	if _, err := ReadMasterKey(missing, ReadOptions{ReadOnlyUse: true}); !errors.Is(err, ErrKey) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reading a missing key: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reading a missing key made one: %v", err)
	}
}

// With MeasureCPU on, derivations add their thread's CPU time; off, they
// do not.
func TestMeasureCPU(t *testing.T) {
	if _, ok := threadCPU(); !ok {
		t.Skip("no thread CPU clock on this system")
	}
	ctx := context.Background()
	h := NewArgon2(Argon2Params{MemoryKiB: 4096, Time: 2, Threads: 1}, 1)
	if _, err := h.Hash(ctx, "tidak diukur"); err != nil {
		t.Fatal(err)
	}
	if got := h.DerivationCPU(); got != 0 {
		t.Fatalf("DerivationCPU %v before MeasureCPU", got)
	}
	h.MeasureCPU(true)
	if _, err := h.Hash(ctx, "diukur"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.RateIn(ctx, 1, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	measured := h.DerivationCPU()
	if measured <= 0 {
		t.Fatalf("DerivationCPU %v after timed derivations", measured)
	}
	h.MeasureCPU(false)
	if _, err := h.Hash(ctx, "tidak diukur lagi"); err != nil {
		t.Fatal(err)
	}
	if got := h.DerivationCPU(); got != measured {
		t.Fatalf("DerivationCPU moved from %v to %v with MeasureCPU off", measured, got)
	}
}
