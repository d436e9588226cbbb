package api

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
)

// The OpenAPI document is assembled from fragments: openapi/base.json holds
// everything but the endpoints (info, servers, security schemes, the error
// schemas and responses every endpoint shares), and each other file in
// openapi/ adds the paths and components of one area (employees.json,
// events.json, and payments.json / statements.json when those endpoints
// land). Other packages may pass fragments of their own through
// Deps.SpecFragments. A fragment holds only "paths", "components" and
// "tags"; a path, component or tag defined twice is an error, so two
// areas cannot silently overwrite each other.
//
//go:embed openapi/*.json
var specFiles embed.FS

const baseFile = "openapi/base.json"

// fragmentKeys are the top-level keys a fragment may have.
var fragmentKeys = []string{"paths", "components", "tags"}

// Spec returns the merged OpenAPI document: the embedded fragments in file
// name order, then extra.
func Spec(extra ...[]byte) ([]byte, error) {
	base, err := specFiles.ReadFile(baseFile)
	if err != nil {
		return nil, fmt.Errorf("api: openapi: %w", err)
	}
	doc, err := decodeObject(baseFile, base)
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(specFiles, "openapi/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		if name == baseFile {
			continue
		}
		data, err := specFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if err := mergeFragment(doc, name, data); err != nil {
			return nil, err
		}
	}
	for i, data := range extra {
		if err := mergeFragment(doc, fmt.Sprintf("fragment %d", i+1), data); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeObject(name string, data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("api: openapi %s: %w", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("api: openapi %s: data after the JSON object", name)
	}
	return obj, nil
}

func mergeFragment(doc map[string]any, name string, data []byte) error {
	frag, err := decodeObject(name, data)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(frag)) {
		if !slices.Contains(fragmentKeys, k) {
			return fmt.Errorf("api: openapi %s: a fragment may only have %v, not %q", name, fragmentKeys, k)
		}
	}
	if paths, ok := frag["paths"]; ok {
		if err := mergeMap(doc, "paths", paths, name); err != nil {
			return err
		}
	}
	if comps, ok := frag["components"]; ok {
		cm, ok := comps.(map[string]any)
		if !ok {
			return fmt.Errorf("api: openapi %s: components is not an object", name)
		}
		dst, _ := doc["components"].(map[string]any)
		if dst == nil {
			dst = map[string]any{}
			doc["components"] = dst
		}
		for _, kind := range slices.Sorted(maps.Keys(cm)) {
			if err := mergeMap(dst, kind, cm[kind], name+" components"); err != nil {
				return err
			}
		}
	}
	if tags, ok := frag["tags"]; ok {
		list, ok := tags.([]any)
		if !ok {
			return fmt.Errorf("api: openapi %s: tags is not a list", name)
		}
		have, _ := doc["tags"].([]any)
		for _, t := range list {
			tn, _ := t.(map[string]any)["name"].(string)
			for _, h := range have {
				if hn, _ := h.(map[string]any)["name"].(string); hn == tn {
					return fmt.Errorf("api: openapi %s: tag %q is defined twice", name, tn)
				}
			}
			have = append(have, t)
		}
		doc["tags"] = have
	}
	return nil
}

// mergeMap adds the entries of src to dst[key], refusing an entry that is
// already there.
func mergeMap(dst map[string]any, key string, src any, name string) error {
	sm, ok := src.(map[string]any)
	if !ok {
		return fmt.Errorf("api: openapi %s: %s is not an object", name, key)
	}
	dm, _ := dst[key].(map[string]any)
	if dm == nil {
		dm = map[string]any{}
		dst[key] = dm
	}
	for _, k := range slices.Sorted(maps.Keys(sm)) {
		if _, dup := dm[k]; dup {
			return fmt.Errorf("api: openapi %s: %s %q is defined twice", name, key, k)
		}
		dm[k] = sm[k]
	}
	return nil
}
