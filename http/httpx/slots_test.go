package httpx

import "testing"

func TestSlots(t *testing.T) {
	s := NewSlots(2)
	if !s.Take("a") || !s.Take("a") {
		t.Fatal("refused within the cap")
	}
	if s.Take("a") {
		t.Fatal("took a third slot of two")
	}
	if !s.Take("b") {
		t.Fatal("another key was held back")
	}
	s.Give("a")
	if !s.Take("a") {
		t.Fatal("a given-back slot was not free")
	}
	s.Give("a")
	s.Give("a")
	s.Give("b")
	if len(s.held) != 0 {
		t.Fatalf("keys left after every slot was given back: %v", s.held)
	}
	if NewSlots(0).Max() != 1 {
		t.Fatal("a cap below 1")
	}
}
