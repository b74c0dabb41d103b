package cab

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
)

// A cabinet writer for tests: stored and MSZIP folders, reserved areas,
// checksums ([MS-CAB] 2.1 to 2.4, [MS-MCI] for MSZIP).

type wFile struct {
	name    string
	data    []byte
	folder  int
	attribs uint16
}

type cabSpec struct {
	folders []uint16 // typeCompress of each folder
	files   []wFile  // a folder's data is its files' data in this order

	reserveHeader, reserveFolder, reserveData int // any non-zero sets cfhdrRESERVE_PRESENT
	flags                                     uint16
	noChecksum                                bool
	checksumWithReserve                       bool // take the CFDATA reserved area into the checksum
	blockSize                                 int  // uncompressed bytes per CFDATA, default 32768
}

type wBlock struct {
	data     []byte
	cbUncomp int
}

func mszipBlocks(data []byte, size int) []wBlock {
	var blocks []wBlock
	for start := 0; start < len(data); start += size {
		chunk := data[start:min(start+size, len(data))]
		dict := data[max(0, start-32768):start]
		var buf bytes.Buffer
		buf.WriteString("CK")
		w, err := flate.NewWriterDict(&buf, flate.BestCompression, dict)
		if err != nil {
			panic(err)
		}
		w.Write(chunk)
		w.Close()
		blocks = append(blocks, wBlock{buf.Bytes(), len(chunk)})
	}
	return blocks
}

func storedBlocks(data []byte, size int) []wBlock {
	var blocks []wBlock
	for start := 0; start < len(data); start += size {
		chunk := data[start:min(start+size, len(data))]
		blocks = append(blocks, wBlock{chunk, len(chunk)})
	}
	return blocks
}

func buildCab(s cabSpec) []byte {
	if s.blockSize == 0 {
		s.blockSize = 32768
	}
	reserve := s.reserveHeader != 0 || s.reserveFolder != 0 || s.reserveData != 0
	flags := s.flags
	if reserve {
		flags |= flagReservePresent
	}
	// Folder data and the files' offsets within it.
	folderData := make([][]byte, len(s.folders))
	offsets := make([]int, len(s.files))
	for i, f := range s.files {
		offsets[i] = len(folderData[f.folder])
		folderData[f.folder] = append(folderData[f.folder], f.data...)
	}
	blocks := make([][]wBlock, len(s.folders))
	for i, tc := range s.folders {
		if tc&0xF == compMSZIP {
			blocks[i] = mszipBlocks(folderData[i], s.blockSize)
		} else {
			blocks[i] = storedBlocks(folderData[i], s.blockSize)
		}
	}
	hdr := headerSize
	if reserve {
		hdr += 4 + s.reserveHeader
	}
	coffFiles := hdr + len(s.folders)*(folderSize+s.reserveFolder)
	dataStart := coffFiles
	for _, f := range s.files {
		dataStart += fileSize + len(f.name) + 1
	}
	folderStart := make([]int, len(s.folders))
	end := dataStart
	for i := range s.folders {
		folderStart[i] = end
		for _, b := range blocks[i] {
			end += dataSize + s.reserveData + len(b.data)
		}
	}
	le := binary.LittleEndian
	var b []byte
	b = append(b, "MSCF"...)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, uint32(end))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, uint32(coffFiles))
	b = le.AppendUint32(b, 0)
	b = append(b, 3, 1)
	b = le.AppendUint16(b, uint16(len(s.folders)))
	b = le.AppendUint16(b, uint16(len(s.files)))
	b = le.AppendUint16(b, flags)
	b = le.AppendUint16(b, 0x4242)
	b = le.AppendUint16(b, 0)
	if reserve {
		b = le.AppendUint16(b, uint16(s.reserveHeader))
		b = append(b, byte(s.reserveFolder), byte(s.reserveData))
		b = append(b, bytes.Repeat([]byte{0xAA}, s.reserveHeader)...)
	}
	for i, tc := range s.folders {
		b = le.AppendUint32(b, uint32(folderStart[i]))
		b = le.AppendUint16(b, uint16(len(blocks[i])))
		b = le.AppendUint16(b, tc)
		b = append(b, bytes.Repeat([]byte{0xBB}, s.reserveFolder)...)
	}
	for i, f := range s.files {
		b = le.AppendUint32(b, uint32(len(f.data)))
		b = le.AppendUint32(b, uint32(offsets[i]))
		b = le.AppendUint16(b, uint16(f.folder))
		b = le.AppendUint16(b, 0x5A21)
		b = le.AppendUint16(b, 0x6000)
		b = le.AppendUint16(b, f.attribs)
		b = append(b, f.name...)
		b = append(b, 0)
	}
	for i := range s.folders {
		for _, blk := range blocks[i] {
			var h [4]byte
			le.PutUint16(h[0:], uint16(len(blk.data)))
			le.PutUint16(h[2:], uint16(blk.cbUncomp))
			res := bytes.Repeat([]byte{0xCC}, s.reserveData)
			var sum uint32
			if !s.noChecksum {
				if s.checksumWithReserve {
					sum = Checksum(append(h[:], res...), Checksum(blk.data, 0))
				} else {
					sum = Checksum(h[:], Checksum(blk.data, 0))
				}
			}
			b = le.AppendUint32(b, sum)
			b = append(b, h[:]...)
			b = append(b, res...)
			b = append(b, blk.data...)
		}
	}
	return b
}
