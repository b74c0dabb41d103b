// Package catalog holds the update model of the server: update revisions as
// Microsoft publishes them (identities, prerequisites, bundles, files and the
// precomputed MS-WUSP fragments), computers, target groups and approvals, and
// the Store contract that the embedded and PostgreSQL stores implement.
//
// The model follows ../shared/protocol/MS-WSUSSS.md section 4 and
// ../shared/protocol/MS-WUSP.md sections 5 and 6.
package catalog

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// UpdateType is the Properties/@UpdateType of an update revision.
type UpdateType string

// The update types a catalog holds.
const (
	TypeSoftware  UpdateType = "Software"
	TypeDriver    UpdateType = "Driver"
	TypeCategory  UpdateType = "Category"
	TypeDetectoid UpdateType = "Detectoid"
)

// Identity names one revision of an update: UpdateIdentity in the metadata.
type Identity struct {
	UpdateID       uuid.UUID
	RevisionNumber int32
}

// PrerequisiteClause is one clause of a revision's prerequisite CNF: it is
// satisfied when at least one of UpdateIDs is installed on the client. A bare
// UpdateIdentity in the metadata is a clause of one. IsCategory marks the
// AtLeastOne groups that name categories (product, classification).
type PrerequisiteClause struct {
	IsCategory bool
	UpdateIDs  []uuid.UUID
}

// File is one payload file of a revision, as listed in its Files element.
type File struct {
	// SHA1 is the 20-byte File/@Digest; it names the file on the content path.
	SHA1 []byte
	// SHA256 is the AdditionalDigest Algorithm="SHA256", empty when absent.
	SHA256   []byte
	FileName string
	Size     int64
	Modified time.Time
}

// FragmentType is an MS-WUSP XmlUpdateFragmentType.
type FragmentType string

// The fragment types the server derives and stores.
const (
	FragmentCore                FragmentType = "Core"
	FragmentExtended            FragmentType = "Extended"
	FragmentLocalizedProperties FragmentType = "LocalizedProperties"
	FragmentEula                FragmentType = "Eula"
)

// Revision is one imported revision of an update: what the scan engine needs
// to decide delivery, plus the fragments the client services hand out.
type Revision struct {
	// ID is the server-wide revision ID, assigned by the Store on import and
	// never reused. Zero before import.
	ID int32
	Identity
	Type UpdateType
	// CategoryType is CategoryInformation/@CategoryType for categories:
	// Company, ProductFamily, Product or UpdateClassification.
	CategoryType string
	// Title and Description are the English (or default language) localized
	// properties, for admins.
	Title       string
	Description string
	// KBArticleID is Properties/KBArticleID, empty when absent.
	KBArticleID      string
	PublicationState string
	CreationDate     time.Time
	// Prerequisites is the CNF of clauses every one of which must be satisfied.
	Prerequisites []PrerequisiteClause
	// BundledUpdates lists the identities of the revisions this one bundles.
	BundledUpdates []Identity
	// SupersededUpdates lists the UpdateIDs this revision supersedes.
	SupersededUpdates []uuid.UUID
	Files             []File
	// CoreXML and ExtendedXML are the Core and Extended fragments.
	CoreXML     string
	ExtendedXML string
	// Localized maps a language ("en", "de", "pt-br") to its LocalizedProperties fragment.
	Localized map[string]string
	// Eulas maps a language to its Eula fragment.
	Eulas map[string]string
	// SourceXML is the whole upd:Update document the revision was imported from.
	SourceXML string
	// Drivers is the driver metadata of a Driver update: one entry per
	// d.WindowsDriverMetaData element, in document order. Empty for other
	// update types.
	Drivers []DriverMetadata
}

// SetFragment stores a fragment of type t (language for LocalizedProperties
// and Eula) in the revision's fields, as a store reads them back.
func (r *Revision) SetFragment(t FragmentType, language, xml string) error {
	switch t {
	case FragmentCore:
		r.CoreXML = xml
	case FragmentExtended:
		r.ExtendedXML = xml
	case FragmentLocalizedProperties:
		if r.Localized == nil {
			r.Localized = map[string]string{}
		}
		r.Localized[language] = xml
	case FragmentEula:
		if r.Eulas == nil {
			r.Eulas = map[string]string{}
		}
		r.Eulas[language] = xml
	default:
		return fmt.Errorf("catalog: fragment of unknown type %q", t)
	}
	return nil
}

// Summary is the part of a revision the scan engine keeps in memory for every
// revision of the catalog: identity, graph edges and state, no fragments.
type Summary struct {
	ID int32
	Identity
	Type             UpdateType
	CategoryType     string
	Title            string
	KBArticleID      string
	PublicationState string
	IsLeaf           bool
	Prerequisites    []PrerequisiteClause
	BundledUpdates   []Identity
	// SupersededUpdates lists the UpdateIDs this revision supersedes.
	SupersededUpdates []uuid.UUID
	HasFiles          bool
	// Imported is when the revision entered this server's catalog.
	Imported time.Time
	// Changed is the change sequence (Store.ChangeSequence) of the import
	// that last wrote the revision: new, or rewritten because its content
	// changed. An upstream's anchors compare it (GetRevisionIdList).
	Changed int64
	// Drivers is the driver metadata of a Driver update (as in Revision):
	// what the scan engine matches against a client's devices.
	Drivers []DriverMetadata
}

// DriverMetadata is one /Update/ApplicabilityRules/Metadata/WindowsDriverMetaData
// element of a driver update (namespace
// http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver):
// one row of the MS-WUSP 3.1.1.1 driver table, with its feature score,
// distribution and target computer hardware ID rows. A driver update has one
// per hardware ID it installs on. Strings are as the metadata writes them.
//
// The JSON names are the stores' persisted form; keep them stable.
type DriverMetadata struct {
	// HardwareID is the device hardware or compatible ID the driver matches
	// (@HardwareID). Matching ignores case.
	HardwareID string `json:"hardwareId"`
	// WhqlDriverID is the WHQL submission number (@WhqlDriverID, an
	// xs:unsignedInt kept as written).
	WhqlDriverID string `json:"whqlDriverId,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Provider     string `json:"provider,omitempty"`
	Company      string `json:"company,omitempty"`
	Class        string `json:"class,omitempty"`
	Model        string `json:"model,omitempty"`
	// DriverVerDate is @DriverVerDate, an xs:date: midnight UTC of that day.
	DriverVerDate time.Time `json:"driverVerDate"`
	// DriverVerVersion is @DriverVerVersion "a.b.c.d" as the 64-bit integer
	// the spec compares: a<<48 | b<<32 | c<<16 | d, each part 16 bits (the
	// encoding of the client's installedDriver/DriverVerVersion).
	DriverVerVersion uint64 `json:"driverVerVersion"`
	// FeatureScores are the FeatureScore children, in document order.
	FeatureScores []DriverFeatureScore `json:"featureScores,omitempty"`
	// DistributionComputerHardwareIDs and TargetComputerHardwareIDs are the
	// DistributionComputerHardwareId and TargetComputerHardwareId children
	// (computer hardware IDs, CHIDs), in document order.
	DistributionComputerHardwareIDs []uuid.UUID `json:"distributionComputerHardwareIds,omitempty"`
	TargetComputerHardwareIDs       []uuid.UUID `json:"targetComputerHardwareIds,omitempty"`
	// CompatibleProviders are the CompatibleProvider children: other
	// providers whose installed printer driver this one may replace (the
	// WindowsDriver schema of MS-WUSP section 6).
	CompatibleProviders []string `json:"compatibleProviders,omitempty"`
}

// DriverFeatureScore is one FeatureScore child of a WindowsDriverMetaData:
// the driver's feature score (0x00 best, 0xFF none) on one operating system
// and architecture, named like the client's FeatureScoreMatchingKey
// ("amd64.10.0").
type DriverFeatureScore struct {
	OperatingSystem string `json:"operatingSystem"`
	Score           uint8  `json:"score"`
}

// ApprovalAction is what an admin approved an update for.
type ApprovalAction string

// The approval actions an admin can set. NotApproved removes an approval.
// OptionalInstall offers the update without installing it automatically
// (DeploymentAction OptionalInstall, Windows 10 1903 and later).
const (
	ActionInstall         ApprovalAction = "Install"
	ActionOptionalInstall ApprovalAction = "OptionalInstall"
	ActionUninstall       ApprovalAction = "Uninstall"
	ActionNotApproved     ApprovalAction = "NotApproved"
)

// UpdateState is what an admin changed about one update beyond its
// approvals: whether it is declined, and when its deployment last changed
// in any way (an approval set or removed, a decline or un-decline). The scan
// engine compares ChangedAt with a client's sync anchor to report
// ChangedUpdates, also for changes that leave no approval row behind.
type UpdateState struct {
	UpdateID  uuid.UUID
	Declined  bool
	ChangedAt time.Time
}

// AllComputersGroupID is the ID of the built-in "All Computers" target group
// (the value WSUS uses for it).
var AllComputersGroupID = uuid.MustParse("a0a08746-4dbe-4a37-9adf-9e7652c0b421")

// UnassignedComputersGroupID is the ID of the built-in "Unassigned Computers"
// target group (the value WSUS uses for it).
var UnassignedComputersGroupID = uuid.MustParse("b73ca6ed-5727-47f3-84de-015e03f6a88a")

// TargetGroup is a computer target group. ParentID is uuid.Nil for "All Computers".
type TargetGroup struct {
	ID       uuid.UUID
	Name     string
	ParentID uuid.UUID
}

// Approval approves one update (all its revisions; the newest published one
// is offered) for one target group.
type Approval struct {
	// ID is the deployment ID the client sees, assigned by the Store.
	ID       int32
	UpdateID uuid.UUID
	GroupID  uuid.UUID
	Action   ApprovalAction
	// Deadline is the install deadline, zero when none.
	Deadline time.Time
	// ChangedAt is when the approval was last set.
	ChangedAt time.Time
	// By names the admin who set it.
	By string
}

// Computer is a client machine known to the server.
type Computer struct {
	// ID is the client's SusClientId.
	ID      string
	DNSName string
	// RequestedGroups are the target group names the client asked for
	// (client-side targeting), as sent in GetAuthorizationCookie.
	RequestedGroups []string
	// Groups are the target groups an admin assigned the computer to
	// (server-side targeting), without duplicates, ordered by UUID string
	// (see SortGroupIDs).
	Groups []uuid.UUID
	// Registered is true once RegisterComputer stored the computer's details.
	Registered     bool
	OSMajor        int
	OSMinor        int
	OSBuild        int
	OSDescription  string
	OSLocale       string
	Architecture   string
	Manufacturer   string
	Model          string
	ClientVersion  string
	FirstSeen      time.Time
	LastSync       time.Time
	LastReport     time.Time
	LastStatusTime time.Time
	// Info is the whole computerInfo of the last RegisterComputer; nil
	// before the computer registered (or registered before the store kept
	// it). The fields above repeat a few of its values.
	Info *ComputerInfo
	// Hardware is what the last driver pass (SyncUpdates with
	// SkipSoftwareSync) reported of the computer's hardware; nil before one.
	Hardware *HardwareInventory
}

// ComputerInfo is everything RegisterComputer's computerInfo carries, one
// field per element, in the WSDL's order and under its names
// (ClientWebService.wsdl, ComputerInfo; [MS-WUSP] 2.2.2.2.3; every element
// is in the real request of capture scan/000004). Integers hold the WSDL's
// int, short and unsignedByte values; BiosReleaseDate is UTC.
//
// The JSON tags are its declared persisted form (the computer_info column
// of the SQL store holds this JSON) and the admin API's: a renamed tag
// loses what stored rows hold.
type ComputerInfo struct {
	DnsName                  string    `json:"dns_name"`
	OSMajorVersion           int       `json:"os_major_version"`
	OSMinorVersion           int       `json:"os_minor_version"`
	OSBuildNumber            int       `json:"os_build_number"`
	OSServicePackMajorNumber int       `json:"os_service_pack_major_number"`
	OSServicePackMinorNumber int       `json:"os_service_pack_minor_number"`
	OSLocale                 string    `json:"os_locale"`
	ComputerManufacturer     string    `json:"computer_manufacturer"`
	ComputerModel            string    `json:"computer_model"`
	BiosVersion              string    `json:"bios_version"`
	BiosName                 string    `json:"bios_name"`
	BiosReleaseDate          time.Time `json:"bios_release_date"`
	ProcessorArchitecture    string    `json:"processor_architecture"`
	SuiteMask                int       `json:"suite_mask"`
	OldProductType           int       `json:"old_product_type"`
	NewProductType           int       `json:"new_product_type"`
	SystemMetrics            int       `json:"system_metrics"`
	ClientVersionMajorNumber int       `json:"client_version_major_number"`
	ClientVersionMinorNumber int       `json:"client_version_minor_number"`
	ClientVersionBuildNumber int       `json:"client_version_build_number"`
	ClientVersionQfeNumber   int       `json:"client_version_qfe_number"`
	OSDescription            string    `json:"os_description"`
	OEM                      string    `json:"oem"`
	DeviceType               string    `json:"device_type"`
	FirmwareVersion          string    `json:"firmware_version"`
	MobileOperator           string    `json:"mobile_operator"`
}

// MaxInventoryDevices is the most devices a HardwareInventory keeps: the
// first ones of the SystemSpec. [I] The native driver pass lists 70 to 75
// (capture scan/000009); a large server lists a few hundred.
const MaxInventoryDevices = 1000

// HardwareInventory is what a driver pass reports of the computer's
// hardware ([MS-WUSP] 2.2.2.2.4 SyncUpdateParameters: SystemSpec,
// ComputerSpec, FeatureScoreMatchingKey; names as in ClientWebService.wsdl
// and capture scan/000009).
//
// The JSON tags are its declared persisted form (the hardware column of the
// SQL store holds this JSON) and the admin API's.
type HardwareInventory struct {
	// ReportedAt is when the driver pass that sent it was answered.
	ReportedAt time.Time `json:"reported_at"`
	// ComputerHardwareIDs is ComputerSpec/HardwareIDs, the computer
	// hardware IDs (CHIDs), most specific first.
	ComputerHardwareIDs []uuid.UUID `json:"computer_hardware_ids"`
	// FeatureScoreMatchingKey is as sent ("AMD64.10.0").
	FeatureScoreMatchingKey string `json:"feature_score_matching_key"`
	// DeviceCount is how many Devices SystemSpec listed; Devices holds the
	// first MaxInventoryDevices of them, in the client's order.
	DeviceCount int               `json:"device_count"`
	Devices     []InventoryDevice `json:"devices"`
}

// InventoryDevice is one SystemSpec Device.
type InventoryDevice struct {
	HardwareIDs   []string `json:"hardware_ids"`
	CompatibleIDs []string `json:"compatible_ids,omitempty"`
	// InstalledDriver is nil when the client sent none.
	InstalledDriver *InventoryDriver `json:"installed_driver,omitempty"`
}

// InventoryDriver is a Device's installedDriver. DriverVerVersion is the
// xs:long as sent (four 16-bit parts; a major part of 0x8000 or more is
// negative); MatchingComputerHWID is uuid.Nil when sent nil.
type InventoryDriver struct {
	MatchingID           string    `json:"matching_id"`
	DriverVerDate        time.Time `json:"driver_ver_date"`
	DriverVerVersion     int64     `json:"driver_ver_version"`
	Class                string    `json:"class"`
	Manufacturer         string    `json:"manufacturer"`
	Provider             string    `json:"provider"`
	Model                string    `json:"model"`
	MatchingComputerHWID uuid.UUID `json:"matching_computer_hwid"`
	DriverRank           int32     `json:"driver_rank"`
}

// Event is one ReportingEvent a client sent, flattened.
type Event struct {
	InstanceID     uuid.UUID
	ClientID       string
	EventID        int
	SourceID       int
	TimeAtTarget   time.Time
	UpdateID       uuid.UUID
	RevisionNumber int32
	Win32HResult   int32
	AppName        string
	Replacement    []string
	MiscData       []string
	Received       time.Time
}

// InstallState is a per-computer update state, with the values of the WSUS
// admin API's UpdateInstallationState.
type InstallState int

// The install states WSUS reports.
const (
	StateUnknown                InstallState = 0
	StateNotApplicable          InstallState = 1
	StateNotInstalled           InstallState = 2
	StateDownloaded             InstallState = 3
	StateInstalled              InstallState = 4
	StateFailed                 InstallState = 5
	StateInstalledPendingReboot InstallState = 6
)

// String returns the WSUS name of the state.
func (s InstallState) String() string {
	switch s {
	case StateNotApplicable:
		return "NotApplicable"
	case StateNotInstalled:
		return "NotInstalled"
	case StateDownloaded:
		return "Downloaded"
	case StateInstalled:
		return "Installed"
	case StateFailed:
		return "Failed"
	case StateInstalledPendingReboot:
		return "InstalledPendingReboot"
	default:
		return "Unknown"
	}
}

// UpdateStatus is one computer's state for one update.
type UpdateStatus struct {
	ClientID string
	UpdateID uuid.UUID
	State    InstallState
	// ErrorCode is the Win32HResult of the install failure (event 182)
	// that set StateFailed; stores keep 0 for other states. Setting
	// StateFailed with ErrorCode 0 (a status report lists the update as
	// failed) keeps the code the computer's failed state has already.
	ErrorCode int32
	ChangedAt time.Time
}

// SortGroupIDs returns a sorted copy of ids without duplicates, in the order
// stores list a computer's assigned groups (Computer.Groups): by UUID
// string, which for canonical lower-case text is byte order.
func SortGroupIDs(ids []uuid.UUID) []uuid.UUID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(out)
}
