from setuptools import find_packages, setup

setup(
    name='gluon_notes',
    version='0.1.0',
    description='MXNet Gluon reproduction of study notes on chapters 3 and 5 of Dive into Deep '
                'Learning (MXNet edition, d2lzh)',
    packages=find_packages(include=['gluon_notes', 'gluon_notes.*']),
    python_requires='>=3.8',
    install_requires=[
        'mxnet==1.9.1',
        'numpy>=1.21,<1.24',        # mxnet 1.9.1 uses np.bool, removed in numpy 1.24
        'matplotlib>=3.5,<3.9',     # 3.9+ needs numpy >= 1.25
        'd2lzh==1.0.0',
        'tqdm',
    ],
    extras_require={
        'test': ['pytest', 'nbclient', 'nbformat', 'ipykernel', 'hypothesis'],
    },
    entry_points={'console_scripts': ['gluon-notes=gluon_notes.cli:main']},
)
