package scan

import (
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
)

// CategoryRelationship is one StartCategoryScan requestedCategories entry:
// the entries sharing IndexOfAndGroup form one AND-group, the groups are ORed.
type CategoryRelationship struct {
	IndexOfAndGroup int
	CategoryID      uuid.UUID
}

// MaxRequestedCategories is the limit on requestedCategories WSUS 3.0 SP2
// enforces with InvalidParameters (MS-WUSP.md section 5.3).
const MaxRequestedCategories = 200

// ErrTooManyCategories is returned for MaxRequestedCategories or more entries.
var ErrTooManyCategories = errors.New("scan: too many requested categories")

// StartCategoryScan applies the [MS-WUSP] 3.1.5.6 rule to a category scan
// request: an unknown category goes to inError and drops its AND-group; a
// group of one product category adds that product; a group of a product and
// a classification adds the product; any other group clears the preferred
// list (a full scan is needed). Real WS2025 echoed the one requested product
// (MS-WUSP.md section 5.3).
func (s *Snapshot) StartCategoryScan(req []CategoryRelationship) (preferred, inError []uuid.UUID, err error) {
	if len(req) >= MaxRequestedCategories {
		return nil, nil, ErrTooManyCategories
	}
	var order []int
	groups := map[int][]uuid.UUID{}
	for _, rel := range req {
		if _, ok := groups[rel.IndexOfAndGroup]; !ok {
			order = append(order, rel.IndexOfAndGroup)
		}
		groups[rel.IndexOfAndGroup] = append(groups[rel.IndexOfAndGroup], rel.CategoryID)
	}
	cleared := false
	for _, idx := range order {
		var products, classifications, others int
		var product uuid.UUID
		unknown := false
		for _, id := range groups[idx] {
			r, ok := s.latest[id]
			if !ok || r.Type != catalog.TypeCategory {
				inError = append(inError, id)
				unknown = true
				continue
			}
			switch {
			case strings.EqualFold(r.CategoryType, "Product"):
				products++
				product = id
			case strings.EqualFold(r.CategoryType, "UpdateClassification"):
				classifications++
			default:
				others++
			}
		}
		switch {
		case unknown:
		case products == 1 && others == 0 && classifications <= 1:
			if !slices.Contains(preferred, product) {
				preferred = append(preferred, product)
			}
		default:
			cleared = true
		}
	}
	if cleared {
		preferred = nil
	}
	return preferred, inError, nil
}
