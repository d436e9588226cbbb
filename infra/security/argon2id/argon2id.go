// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package argon2id is the argon2id of golang.org/x/crypto/argon2 (v0.59.0)
// deriving into memory the caller keeps, so that a server hashing password
// after password reuses one block of memory per hashing slot instead of
// allocating MemoryKiB afresh for every derivation.
//
// Why a copy: x/crypto allocates its 19 MiB inside IDKey and XORs every new
// block into that zeroed memory, so each derivation first reads pages the Go
// heap has just handed out fresh or given back to the kernel. The read maps
// the shared zero page, the write that follows copies it, and on a VM each
// copy costs a TLB shootdown to the other cores; the allocation also starts
// a garbage collection every hash or two. Derived into memory that stays
// mapped, the same derivation does neither. The output is bit for bit
// x/crypto's (the tests compare them), and the assembly is x/crypto's
// unchanged. The changes: Memory holds the blocks, on Linux in a mapping
// of their own on huge pages (memory_linux.go); the first pass writes its
// blocks (processBlock) instead of XORing them into zeroed memory
// (processBlockXOR), which is the same value in fresh memory and the only
// right one in reused memory; the last lane of each segment runs on the
// calling goroutine; argon2i and argon2d are gone.
package argon2id

import (
	"encoding/binary"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// Version is the Argon2 version implemented (0x13, as x/crypto's).
const Version = 0x13

const (
	blockLength = 128
	syncPoints  = 4
)

type block [blockLength]uint64

// Memory is the block memory of one derivation at a time. It grows to the
// largest derivation it has run and keeps that; it is not safe for
// concurrent use (one Memory per hashing slot). The zero value is ready.
type Memory struct {
	blocks []block
	// mapped is the mapping blocks live in where the system gives block
	// memory a mapping of its own (memory_linux.go); nil on the Go heap.
	mapped *mapping
}

// NewMemory returns memory already sized (and touched) for derivations of
// memoryKiB with threads lanes, so the first derivation does not pay for
// the page faults either.
func NewMemory(memoryKiB uint32, threads uint8) *Memory {
	m := &Memory{}
	b := m.take(laneMemory(memoryKiB, uint32(max(threads, 1))))
	for i := range b {
		b[i][0] = 0 // write each 1 KiB block: maps every page now
	}
	return m
}

// Size is the memory held, in KiB.
func (m *Memory) Size() int { return len(m.blocks) }

func (m *Memory) take(n uint32) []block {
	if uint32(len(m.blocks)) < n {
		m.blocks = m.grow(n)
	}
	return m.blocks[:n]
}

// IDKey derives a key from the password, salt and cost parameters with
// Argon2id, exactly as golang.org/x/crypto/argon2.IDKey does, in m's memory.
// time and threads must be greater than zero.
func (m *Memory) IDKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return m.deriveKey(password, salt, nil, nil, time, memory, threads, keyLen)
}

// IDKey is x/crypto's IDKey in memory of its own (for a one-off derivation).
func IDKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	var m Memory
	return m.IDKey(password, salt, time, memory, threads, keyLen)
}

const argon2id = 2 // x/crypto's mode number, hashed into H0

// laneMemory is the number of blocks a derivation uses: memory rounded down
// to a multiple of 4·threads, at least 8·threads.
func laneMemory(memory, threads uint32) uint32 {
	memory = memory / (syncPoints * threads) * (syncPoints * threads)
	if memory < 2*syncPoints*threads {
		memory = 2 * syncPoints * threads
	}
	return memory
}

func (m *Memory) deriveKey(password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 {
		panic("argon2id: number of rounds too small")
	}
	if threads < 1 {
		panic("argon2id: parallelism degree too low")
	}
	h0 := initHash(password, salt, secret, data, time, memory, uint32(threads), keyLen, argon2id)

	memory = laneMemory(memory, uint32(threads))
	B := m.take(memory)
	initBlocks(B, &h0, memory, uint32(threads))
	processBlocks(B, time, memory, uint32(threads), argon2id)
	return extractKey(B, memory, uint32(threads), keyLen)
}

func initHash(password, salt, key, data []byte, time, memory, threads, keyLen uint32, mode int) [blake2b.Size + 8]byte {
	var (
		h0     [blake2b.Size + 8]byte
		params [24]byte
		tmp    [4]byte
	)

	b2, _ := blake2b.New512(nil)
	binary.LittleEndian.PutUint32(params[0:4], threads)
	binary.LittleEndian.PutUint32(params[4:8], keyLen)
	binary.LittleEndian.PutUint32(params[8:12], memory)
	binary.LittleEndian.PutUint32(params[12:16], time)
	binary.LittleEndian.PutUint32(params[16:20], uint32(Version))
	binary.LittleEndian.PutUint32(params[20:24], uint32(mode))
	b2.Write(params[:])
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(password)))
	b2.Write(tmp[:])
	b2.Write(password)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(salt)))
	b2.Write(tmp[:])
	b2.Write(salt)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(key)))
	b2.Write(tmp[:])
	b2.Write(key)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(data)))
	b2.Write(tmp[:])
	b2.Write(data)
	b2.Sum(h0[:0])
	return h0
}

// initBlocks writes the first two blocks of each lane into B (x/crypto's
// initBlocks, with B given instead of made).
func initBlocks(B []block, h0 *[blake2b.Size + 8]byte, memory, threads uint32) {
	var block0 [1024]byte
	for lane := uint32(0); lane < threads; lane++ {
		j := lane * (memory / threads)
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 0)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+0] {
			B[j+0][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 1)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+1] {
			B[j+1][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}
	}
}

func processBlocks(B []block, time, memory, threads uint32, mode int) {
	lanes := memory / threads
	segments := lanes / syncPoints

	processSegment := func(n, slice, lane uint32, wg *sync.WaitGroup) {
		var addresses, in, zero block
		if n == 0 && slice < syncPoints/2 {
			in[0] = uint64(n)
			in[1] = uint64(lane)
			in[2] = uint64(slice)
			in[3] = uint64(memory)
			in[4] = uint64(time)
			in[5] = uint64(mode)
		}

		index := uint32(0)
		if n == 0 && slice == 0 {
			index = 2 // we have already generated the first two blocks
			in[6]++
			processBlock(&addresses, &in, &zero)
			processBlock(&addresses, &addresses, &zero)
		}

		offset := lane*lanes + slice*segments + index
		var random uint64
		for index < segments {
			prev := offset - 1
			if index == 0 && slice == 0 {
				prev += lanes // last block in lane
			}
			if n == 0 && slice < syncPoints/2 {
				if index%blockLength == 0 {
					in[6]++
					processBlock(&addresses, &in, &zero)
					processBlock(&addresses, &addresses, &zero)
				}
				random = addresses[index%blockLength]
			} else {
				random = B[prev][0]
			}
			newOffset := indexAlpha(random, lanes, segments, threads, n, slice, lane, index)
			// The first pass writes each block (the memory may hold an
			// earlier derivation); later passes XOR into it (Argon2 v1.3).
			if n == 0 {
				processBlock(&B[offset], &B[prev], &B[newOffset])
			} else {
				processBlockXOR(&B[offset], &B[prev], &B[newOffset])
			}
			index, offset = index+1, offset+1
		}
		wg.Done()
	}

	for n := uint32(0); n < time; n++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			var wg sync.WaitGroup
			// The last lane runs on the calling goroutine: with one lane
			// (the portal's p=1) a derivation starts no goroutine, so
			// it is not handed to another thread between segments.
			for lane := uint32(0); lane < threads-1; lane++ {
				wg.Add(1)
				go processSegment(n, slice, lane, &wg)
			}
			wg.Add(1)
			processSegment(n, slice, threads-1, &wg)
			wg.Wait()
		}
	}

}

func extractKey(B []block, memory, threads, keyLen uint32) []byte {
	lanes := memory / threads
	for lane := uint32(0); lane < threads-1; lane++ {
		for i, v := range B[(lane*lanes)+lanes-1] {
			B[memory-1][i] ^= v
		}
	}

	var block [1024]byte
	for i, v := range B[memory-1] {
		binary.LittleEndian.PutUint64(block[i*8:], v)
	}
	key := make([]byte, keyLen)
	blake2bHash(key, block[:])
	return key
}

func indexAlpha(rand uint64, lanes, segments, threads, n, slice, lane, index uint32) uint32 {
	refLane := uint32(rand>>32) % threads
	if n == 0 && slice == 0 {
		refLane = lane
	}
	m, s := 3*segments, ((slice+1)%syncPoints)*segments
	if lane == refLane {
		m += index
	}
	if n == 0 {
		m, s = slice*segments, 0
		if slice == 0 || lane == refLane {
			m += index
		}
	}
	if index == 0 || lane == refLane {
		m--
	}
	return phi(rand, uint64(m), uint64(s), refLane, lanes)
}

func phi(rand, m, s uint64, lane, lanes uint32) uint32 {
	p := rand & 0xFFFFFFFF
	p = (p * p) >> 32
	p = (p * m) >> 32
	return lane*lanes + uint32((s+m-(p+1))%uint64(lanes))
}
