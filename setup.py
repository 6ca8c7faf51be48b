"Reads settings.ini (the nbdev config) and installs finetune_nb; no pkg_resources."
from configparser import ConfigParser
import glob, os, setuptools, shlex, shutil
from setuptools.command.build_py import build_py

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
console_scripts = cfg.get('console_scripts', '').split()

class BuildWithPipelines(build_py):
    "Ship the pipeline notebooks (nbs/pipeline_*.ipynb) and the presets (configs/*.yaml) inside the package"
    def run(self):
        super().run()
        for pattern, folder in (('nbs/pipeline_*.ipynb', 'pipelines'), ('nbs/compare.ipynb', 'pipelines'),
                                ('configs/*.yaml', 'presets')):
            dest = os.path.join(self.build_lib, cfg['lib_name'], folder)
            os.makedirs(dest, exist_ok=True)
            for src in glob.glob(pattern):
                shutil.copy(src, dest)

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    long_description=open('README.md', encoding='utf-8').read() if os.path.exists('README.md') else '', long_description_content_type='text/markdown',
    author=cfg['author'], author_email=cfg['author_email'], license='Apache-2.0', url=cfg['git_url'],
    keywords=cfg['keywords'].split(), python_requires='>=' + cfg['min_python'],
    packages=setuptools.find_packages(include=[cfg['lib_name'], cfg['lib_name'] + '.*']),
    include_package_data=True, install_requires=requirements,
    package_data={cfg['lib_name']: ['*.jsonl']},
    extras_require={'dev': dev_requirements},
    entry_points={'console_scripts': console_scripts, 'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    cmdclass={'build_py': BuildWithPipelines},
    zip_safe=False)
