"""hccbayes.data.reconstruction.kmipd: patient data reconstructed from published Kaplan–Meier curves (Guyot et al.,
BMC Med Res Methodol 2012;12:9): inputs (:mod:`.inputs`), cleaning (:mod:`.clean`), the algorithm
(:mod:`.guyot`), the public entry point (:mod:`.reconstruct`) and study folders whose cohort comes from
digitised curves (:mod:`.study_source`)."""
from hccbayes.data.reconstruction.kmipd.inputs import CurveError
from hccbayes.data.reconstruction.kmipd.reconstruct import Reconstruction, ipd_from_km, write_ipd

__all__ = ["CurveError", "Reconstruction", "ipd_from_km", "write_ipd"]
