package v1alpha1_test

import (
	"bytes"
	"errors"
	"io"
	"os"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// decodeManifests reads YAML documents into unstructured objects, the way kubectl
// sends what it reads: no Go types in between, so the schema alone decides.
func decodeManifests(text []byte) []*unstructured.Unstructured {
	GinkgoHelper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(text), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		Expect(err).NotTo(HaveOccurred())
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// manifest decodes exactly one object.
func manifest(text string) *unstructured.Unstructured {
	GinkgoHelper()
	objs := decodeManifests([]byte(text))
	Expect(objs).To(HaveLen(1))
	return objs[0]
}

func readManifests(path string) []*unstructured.Unstructured {
	GinkgoHelper()
	text, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	return decodeManifests(text)
}

// create creates obj and deletes it when the spec ends.
func create(obj client.Object) error {
	err := k8s.Create(ctx, obj)
	if err == nil {
		DeferCleanup(func() {
			Expect(client.IgnoreNotFound(k8s.Delete(ctx, obj))).To(Succeed())
		})
	}
	return err
}

// expectRefused asserts that the apiserver refused a write as invalid, with a message
// naming field and saying why.
func expectRefused(err error, field, why string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the apiserver accepted an invalid object")
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got: %v", err)
	Expect(err.Error()).To(ContainSubstring(field), "the message must name the field")
	Expect(err.Error()).To(ContainSubstring(why))
}
